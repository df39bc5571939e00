"""Video capture: an RTSP/HTTP URL or a video file (`file:PATH`) decoded by PyAV straight to
I420, or a V4L2 camera index through OpenCV (`device.sources.captures`).

A stream that stops delivering is reopened with backoff (1 s doubling to
`camera.reopen_max_seconds`); each reopen is counted in `stats.reopens`. A network stream that
stalls is cut by FFmpeg's read timeout (`READ_TIMEOUT_MS`) and so counts as a drop. A file
simply ends (or starts over with `camera.loop`).

The capture is read on the capture thread; `close()` may come from another (at shutdown): it
ends a backoff wait at once, and waits for a read in progress (at most the read timeout) before
releasing the capture, which neither OpenCV nor FFmpeg allows during a read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from doorbell.config.camera import CameraConfig
from doorbell.device.runtime.frame import Frame, lores_of
from doorbell.device.sources.base import Source, SourceError
from doorbell.device.sources.captures import Capture, OpenCvCapture, PyAvCapture

log = logging.getLogger(__name__)

# A stalled RTSP/HTTP stream would block read() forever; FFmpeg gives up after this long.
OPEN_TIMEOUT_MS = 10000
READ_TIMEOUT_MS = 5000


class OpenCvSource(Source):
    name = "opencv"

    def __init__(
        self,
        target: str,
        camera: CameraConfig,
        start_wall: float | None = None,
        is_file: bool = False,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        super().__init__()
        self.target = target
        self.camera = camera
        self.is_file = is_file
        self.live = not is_file
        self.lores_size = (camera.lores_width, camera.lores_height)
        self.start_wall = time.time() if start_wall is None else start_wall
        self._closed = threading.Event()
        self._lock = threading.Lock()  # held while the capture is read, swapped or released
        self.sleep = sleep or self._closed.wait  # a backoff wait that close() cuts short
        self._capture: Capture | None = None
        self._seq = 0
        self._file_seq = 0
        self._t0: float | None = None
        self.frame_count: int | None = None
        self.codec: str | None = None  # the stream's codec (PyAV's name), once open
        # Every packet as the camera sent it, with its frame time: pass-through recording
        # (device.recording.passthrough_stream) sets this. Called on the capture thread.
        self.on_packet: Callable[[Any, float], None] | None = None
        self._packet_base: tuple[int, float] | None = None  # (first stamp, its frame time)

    def _open_capture(self) -> Capture:
        if self.target.isdigit():
            return OpenCvCapture(int(self.target), self.camera)
        if "://" in self.target:
            timeouts = (OPEN_TIMEOUT_MS / 1000, READ_TIMEOUT_MS / 1000)
            capture = PyAvCapture(self.target, timeouts)
        else:
            capture = PyAvCapture(self.target, None)
        capture.on_packet = self._packet
        self._packet_base = None  # a capture opened again starts its timestamps again
        return capture

    def _packet(self, packet: Any) -> None:
        listener = self.on_packet
        if listener is None:
            return
        if not self.is_file:
            listener(packet, self._live_t())
            return
        # A file's own clock, as its frames have it: the first packet of this capture is the
        # next frame's time, and the rest follow by their timestamps.
        stamp = packet.pts if packet.pts is not None else packet.dts
        if stamp is None:
            return  # nothing to place it by (a broken file); the recorder skips it
        if self._packet_base is None:
            self._packet_base = (stamp, self._seq / self.fps)
        base, offset = self._packet_base
        listener(packet, offset + float((stamp - base) * packet.time_base))

    def _live_t(self) -> float:
        """A live stream's frame time: seconds since its first frame or packet, on this host."""
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        return now - self._t0

    def open(self) -> None:
        self._closed.clear()
        self._capture = self._open_capture()
        fps = self._capture.fps
        self.fps = self.camera.fps or (fps if 1.0 <= fps <= 120.0 else 15.0)
        self.width, self.height = self._capture.width, self._capture.height
        self.codec = getattr(self._capture, "codec", None)
        if self.is_file:
            self.frame_count = self._capture.frame_count

    def read(self) -> Frame | None:
        if self._capture is None and not self._closed.is_set():
            self.open()
        image = self._read()
        if image is None and self.is_file and self.camera.loop and self._file_seq > 0:
            with self._lock:  # from the start: a file reopened is cheaper than one sought
                if self._capture is not None:
                    self._capture.release()
                    self._capture = self._open_capture()
            self._file_seq = 0
            image = self._read()
        if image is None and not self.is_file:
            image = self._reopen()
        return self._frame(image) if image is not None else None

    def _read(self) -> np.ndarray | None:
        with self._lock:
            if self._capture is None:  # closed
                return None
            return self._capture.read()

    def _reopen(self) -> np.ndarray | None:
        """Reopen a stalled or dropped stream with backoff, until it delivers again (or the
        source is closed from another thread: then None, the end of the stream)."""
        delay = 1.0
        while not self._closed.is_set():
            log.warning("camera %s stopped delivering; reopening in %.0f s", self.target, delay)
            self.sleep(delay)
            if self._closed.is_set():
                break
            self.stats.reopens += 1
            try:
                capture = self._open_capture()
            except SourceError:
                delay = min(delay * 2, self.camera.reopen_max_seconds)
                continue
            with self._lock:
                old, self._capture = self._capture, capture
                if old is not None:
                    old.release()
                if self._closed.is_set():  # closed while this one was opening
                    self._capture = None
                    capture.release()
                    break
            image = self._read()
            if image is not None:
                log.info("camera %s is back", self.target)
                return image
            delay = min(delay * 2, self.camera.reopen_max_seconds)
        return None

    def _frame(self, image: np.ndarray) -> Frame:
        if self.is_file:
            t = self._seq / self.fps  # a file's own clock: frame number over its frame rate
            wall = self.start_wall + t
        else:
            t, wall = self._live_t(), time.time()
        frame = Frame(self._seq, t, wall, image, lores_of(image, self.lores_size))
        self._seq += 1
        self._file_seq += 1
        self.stats.frames += 1
        return frame

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            capture, self._capture = self._capture, None
            if capture is not None:
                capture.release()
