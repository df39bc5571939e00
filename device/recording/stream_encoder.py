"""The main stream encoded in Python (PyAV's libx264) into the fragment ring: off the Pi."""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import Any

import av
import numpy as np

from doorbell.config.record import RecordConfig
from doorbell.device.recording.fragment_ring import FragmentRing
from doorbell.device.recording.fragments import Fragment

MIN_QUANTISER = 20


def x264_options(preset: str, threads: int, keyframe_frames: int) -> dict[str, str]:
    """libx264's options for the main stream (`benchmarks/x264_options.py` measures them)."""
    return {
        "preset": preset,
        "tune": "zerolatency",  # no lookahead or B-frames: a frame in is a packet out
        "g": str(keyframe_frames),
        "keyint_min": str(keyframe_frames),
        "sc_threshold": "0",  # keyframes on the clock only, so fragments are one interval long
        # One thread by default: libx264's sliced threads hand each frame around, which
        # measured 0.2 ms a frame more at 768x576 in real time, and each holds its own state.
        "threads": str(threads),
        # libx264 keeps motion-cost tables for every quantiser it may use, 0.6 MB each at
        # 720p; below 20 a camera's picture looks no better, it only takes more disk.
        "qmin": str(MIN_QUANTISER),
        # No decimation (libx264 dropping the few small coefficients of a block it judges not
        # worth their bits): 10 % less of the encoder's CPU in real time (vtest, 768x576 and
        # 1280x720, issue 31). Where qmin holds the picture under `bitrate` it is a little
        # sharper for ~5 % more bytes (768x576: luma PSNR +0.2 dB); where `bitrate` holds it,
        # the same bytes (1280x720: -0.26 dB at 42.5 dB, not visible).
        "x264-params": "dct-decimate=0",
    }


class StreamEncoder:
    """H.264 (libx264) into fragmented MP4, one fragment per keyframe interval, in memory."""

    def __init__(
        self,
        fps: float,
        size: tuple[int, int],
        bitrate: int,
        preset: str,
        threads: int,
        keyframe_frames: int,
        ring_seconds: float,
    ) -> None:
        self.fps = fps
        self._fragments = FragmentRing(ring_seconds)
        stream: Any = self._fragments.container.add_stream(
            "libx264", rate=Fraction(fps).limit_denominator(1001)
        )
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bitrate
        stream.options = x264_options(preset, threads, keyframe_frames)
        self._stream = stream
        self._times: deque[float] = deque()  # frame times of frames in the encoder, in order

    @classmethod
    def for_record(cls, record: RecordConfig, fps: float, size: tuple[int, int]) -> StreamEncoder:
        """The encoder as the `record` settings make it, for frames of `size` at `fps`."""
        return cls(
            fps,
            size,
            record.bitrate,
            record.preset,
            record.encoder_threads,
            record.keyframe_frames(fps),
            record.ring_seconds,
        )

    @property
    def ring(self) -> deque[Fragment]:
        return self._fragments.ring

    @property
    def init_segment(self) -> bytes:
        return self._fragments.init_segment

    @property
    def ring_bytes(self) -> int:
        return self._fragments.ring_bytes

    def feed(self, yuv: np.ndarray, t: float) -> list[Fragment]:
        """Encode one I420 picture (frame time `t`); return the fragments it completed (usually
        none). The picture is lent to PyAV as it is, no conversion, no copy: libx264 copies what
        it is given before `encode` returns."""
        frame = av.VideoFrame.from_numpy_buffer(yuv, format="yuv420p")
        frame.pts = self._fragments.frames + len(self._times)
        self._times.append(t)
        return self._mux(self._stream.encode(frame))

    def _mux(self, packets: list[Any]) -> list[Fragment]:
        done = []
        for packet in packets:  # no B-frames: packets come out in the order frames went in
            done += self._fragments.mux(packet, self._times.popleft())
        return done

    def close(self) -> list[Fragment]:
        done = self._mux(self._stream.encode(None))
        return done + self._fragments.close()
