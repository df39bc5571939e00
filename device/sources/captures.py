"""What an `OpenCvSource` reads from: a file or network stream decoded by PyAV straight to I420,
or a V4L2 device index through OpenCV (which gives BGR only: converted once, here).

A capture is used by one thread at a time (the source's lock sees to it); `read` returns the
next I420 picture, or None when the stream ends or fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import av
import numpy as np

from doorbell.config.camera import CameraConfig
from doorbell.device.runtime.frame import i420_of
from doorbell.device.sources.base import SourceError

log = logging.getLogger(__name__)


class PyAvCapture:
    """A file or RTSP/HTTP stream, decoded to `yuv420p` with the decoder's own threads."""

    def __init__(self, target: str, timeouts: tuple[float, float] | None) -> None:
        """`timeouts`: (open, read) seconds for a network stream, so a stalled one ends."""
        self.target = target
        try:
            # RTSP over TCP, as OpenCV's FFmpeg capture asks for it: over UDP a lost packet
            # is a smeared picture, and a doorbell's Wi-Fi loses packets.
            options = {"rtsp_transport": "tcp"} if target.startswith("rtsp") else {}
            self._container: Any = av.open(target, timeout=timeouts, options=options)
        except (av.FFmpegError, OSError) as exc:
            raise SourceError(f"cannot open video {target!r} ({exc})") from None
        if not self._container.streams.video:
            self._container.close()
            raise SourceError(f"cannot open video {target!r} (no video stream)")
        stream = self._container.streams.video[0]
        # The decoder on the capture thread alone. Frame threads (FFmpeg's default) hold each
        # frame back by one frame time per thread, so a live doorbell's alert is late by as
        # much, and cost ~5 MB more at 768x576. Slice threads only share the work of a picture
        # cut into several slices (libx264 sends one by default), and waking them for every
        # frame of a one-slice stream measured 1 % more CPU a frame at --speed max and 2-3 %
        # more in real time (768x576, 7 of 8 interleaved pairs; issue 31), for the same memory.
        stream.thread_type = "SLICE"
        stream.codec_context.thread_count = 1
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else 0.0
        # I420 needs even sides; an odd one is trimmed by the scaler (rare: cameras are even).
        self.width = stream.codec_context.width // 2 * 2
        self.height = stream.codec_context.height // 2 * 2
        self.frame_count = stream.frames or None
        self.stream: Any = stream  # what a pass-through recorder copies its parameters from
        self.codec: str = stream.codec_context.name
        # Each packet as demuxed, before it is decoded: for pass-through recording, which keeps
        # the camera's own H.264 (device.recording.passthrough_stream). Set by the source.
        self.on_packet: Callable[[Any], None] | None = None
        self._frames: Iterator[Any] = self._decoded(stream)

    def _decoded(self, stream: Any) -> Iterator[Any]:
        for packet in self._container.demux(stream):
            if self.on_packet is not None and packet.size:  # the last, empty one only flushes
                self.on_packet(packet)
            yield from packet.decode()

    def read(self) -> np.ndarray | None:
        try:
            frame = next(self._frames)
        except StopIteration:
            return None
        except (av.FFmpegError, OSError) as exc:  # a read timeout, a broken stream
            log.info("video %s ended: %s", self.target, exc)
            return None
        if frame.format.name != "yuv420p" or (frame.width, frame.height) != (
            self.width,
            self.height,
        ):
            frame = frame.reformat(self.width, self.height, "yuv420p")
        array: np.ndarray = frame.to_ndarray()  # the three planes, one copy into one buffer
        return array

    def release(self) -> None:
        self._container.close()


class OpenCvCapture:
    """A V4L2 device index: OpenCV gives BGR only; each picture is converted to I420 once."""

    def __init__(self, index: int, camera: CameraConfig) -> None:
        import cv2

        self._capture = cv2.VideoCapture(index)
        if not self._capture.isOpened():
            raise SourceError(f"cannot open video {str(index)!r}")
        if camera.width and camera.height:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, camera.width)
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, camera.height)
        if camera.fps:
            self._capture.set(cv2.CAP_PROP_FPS, camera.fps)
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS))
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.frame_count: int | None = None

    def read(self) -> np.ndarray | None:
        ok, image = self._capture.read()
        return i420_of(image) if ok else None

    def release(self) -> None:
        self._capture.release()


Capture = PyAvCapture | OpenCvCapture
