"""The main stream encoded by the Pi itself: picamera2's `H264Encoder` into the fragment ring.

picamera2 runs the encoder (the hardware one where the board has it) on its own thread and hands
each encoded frame to an `Output`; ours muxes it into the same fragment ring the software encoder
fills, so the recorder cuts clips the same way and Python never touches a raw main frame for
recording. Written against picamera2's documented names; not yet run on a Pi (README says so).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av

from doorbell.config.record import RecordConfig
from doorbell.device.recording.camera_fragments import CameraFragments
from doorbell.device.recording.encoded_stream import EncodedStream
from doorbell.device.recording.fragment_ring import FragmentRing
from doorbell.device.recording.fragments import Fragment
from doorbell.device.recording.masks import PrivacyMask
from doorbell.device.sources.base import Source
from doorbell.device.sources.faults import FaultySource
from doorbell.device.sources.picamera2 import Picamera2Source

MICROSECOND = Fraction(1, 1_000_000)


def camera_stream(source: Source, record: RecordConfig, mask: PrivacyMask) -> EncodedStream | None:
    """For the Pi camera: burn the masks into its main stream, start picamera2's encoder on it
    and return what it encodes, for the recorder to cut clips from. For any other source, None:
    the recorder encodes the frames itself."""
    camera = source.inner if isinstance(source, FaultySource) else source
    if not isinstance(camera, Picamera2Source) or camera.picam is None:
        return None
    width = camera.width
    camera.burn_in(lambda yuv: mask.apply_i420(yuv, width))  # before the encoder sees a frame
    stream = Picamera2Stream(
        camera.picam,
        camera.fps,
        record.bitrate,
        keyframe_frames=record.keyframe_frames(camera.fps),
        ring_seconds=record.ring_seconds,
        frame_time=lambda sensor_us: camera.frame_time(sensor_us * 1000),
    )
    stream.start()
    return stream


class Picamera2Stream(CameraFragments):
    """Starts picamera2's H.264 encoder on the main stream and keeps its output as fragments.

    `frame_time` turns a sensor timestamp (microseconds, as picamera2's encoder counts them) into
    the source's frame time, so fragments line up with the frames the detector saw.
    """

    def __init__(
        self,
        picam: Any,
        fps: float,
        bitrate: int,
        keyframe_frames: int,
        ring_seconds: float,
        frame_time: Callable[[int], float],
    ) -> None:
        super().__init__()
        self.picam, self.fps, self.frame_time = picam, fps, frame_time
        self.keyframe_frames, self.ring_seconds = keyframe_frames, ring_seconds
        self.bitrate = bitrate
        self.encoder: Any = None
        self._stream: Any = None
        self._header = b""  # SPS/PPS that came in a buffer of their own, for the next frame

    def start(self) -> None:
        from picamera2.encoders import H264Encoder

        # repeat: SPS/PPS before every keyframe, so any fragment can start a clip. framerate: for
        # its rate control (picamera2 assumes 30 otherwise, and the bitrate would miss).
        self.encoder = H264Encoder(
            bitrate=self.bitrate, repeat=True, iperiod=self.keyframe_frames, framerate=self.fps
        )
        self.picam.start_encoder(self.encoder, _make_output(self._on_frame), name="main")

    def _on_frame(self, data: bytes, keyframe: bool, timestamp: int | None) -> None:
        """picamera2's encoder thread: one encoded frame, `timestamp` in µs since its first."""
        if not has_picture(data):  # parameter sets alone: they belong to the frame that follows
            self._header += data
            return
        data, self._header = self._header + data, b""
        first = getattr(self.encoder, "firsttimestamp", None) or 0
        t = self.frame_time(first + (timestamp or 0))
        with self._lock:
            if self._fragments is None:
                if not keyframe:
                    return
                self._open(data)
            assert self._fragments is not None
            packet = av.Packet(data)
            packet.pts = packet.dts = timestamp or 0
            packet.time_base = MICROSECOND
            packet.is_keyframe = keyframe
            packet.stream = self._stream
            self._completed(self._fragments.mux(packet, t))

    def _open(self, keyframe: bytes) -> None:
        # The stream's parameters (size, SPS/PPS) are read from the first keyframe itself.
        with av.open(io.BytesIO(keyframe), format="h264") as probe:
            self._fragments = FragmentRing(self.ring_seconds)
            template = probe.streams.video[0]
            self._stream = self._fragments.container.add_stream_from_template(template)
            self._stream.time_base = MICROSECOND

    def close(self) -> list[Fragment]:
        if self.encoder is not None:
            self.picam.stop_encoder(self.encoder)
            self.encoder = None
        with self._lock:
            return self._close_ring()


def has_picture(annex_b: bytes) -> bool:
    """Whether an H.264 buffer (Annex B) holds a coded slice, not only SPS/PPS/SEI."""
    at = annex_b.find(b"\x00\x00\x01")
    while at != -1 and at + 3 < len(annex_b):
        if 1 <= annex_b[at + 3] & 0x1F <= 5:  # NAL unit types 1-5: slices of a picture
            return True
        at = annex_b.find(b"\x00\x00\x01", at + 3)
    return False


def _make_output(on_frame: Callable[[bytes, bool, int | None], None]) -> Any:
    """A picamera2 `Output` (the encoder accepts nothing else) that forwards each frame."""
    from picamera2.outputs import Output

    class FragmentOutput(Output):
        def outputframe(
            self,
            frame: bytes,
            keyframe: bool = True,
            timestamp: int | None = None,
            packet: Any = None,
            audio: bool = False,
        ) -> None:
            if not audio:
                on_frame(bytes(frame), keyframe, timestamp)

    return FragmentOutput()
