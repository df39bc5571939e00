"""The main stream, encoded continuously into fragments kept in a short ring (the pre-roll)."""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import Any

import av
import numpy as np

from device.recording.fragments import BoxStream, Fragment

FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}


class StreamEncoder:
    """H.264 (libx264) into fragmented MP4, one fragment per keyframe interval, in memory.

    `ring_seconds` of finished fragments are kept; older ones are forgotten. Memory is about
    (ring_seconds + one keyframe interval) x bitrate / 8.
    """

    def __init__(
        self,
        fps: float,
        size: tuple[int, int],
        bitrate: int,
        preset: str,
        keyframe_frames: int,
        ring_seconds: float,
    ) -> None:
        self.fps = fps
        self.keyframe_frames = keyframe_frames
        self._stream_out = BoxStream()
        self._container: Any = av.open(self._stream_out, "w", format="mp4", options=FRAGMENTED)
        stream: Any = self._container.add_stream(
            "libx264", rate=Fraction(fps).limit_denominator(1001)
        )
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bitrate
        stream.options = {
            "preset": preset,
            "tune": "zerolatency",  # no lookahead or B-frames: a frame in is a packet out
            "g": str(keyframe_frames),
            "keyint_min": str(keyframe_frames),
            "sc_threshold": "0",  # keyframes on the clock only, so fragments are one interval long
            "threads": "2",  # a Pi has 4 cores; each encoder thread holds frames in memory
        }
        self._stream = stream
        max_fragments = int(ring_seconds * fps / keyframe_frames) + 2
        self.ring: deque[Fragment] = deque(maxlen=max_fragments)
        self.frames = 0
        self._next_first = 0
        self._starts: deque[float] = deque()  # frame times of keyframes not yet in a fragment

    @property
    def init_segment(self) -> bytes:
        return bytes(self._stream_out.init)

    @property
    def ring_bytes(self) -> int:
        return sum(len(f.data) for f in self.ring) + len(self._stream_out._buffer)

    def encode(self, image: np.ndarray, t: float) -> list[Fragment]:
        """Encode one frame (frame time `t`); return the fragments it completed (usually none)."""
        if self.frames % self.keyframe_frames == 0:
            self._starts.append(t)
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = self.frames
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1
        return self._collect()

    def _collect(self) -> list[Fragment]:
        done = []
        for data in self._stream_out.take():
            count = self.keyframe_frames
            first_t = self._starts.popleft() if self._starts else 0.0
            fragment = Fragment(data, self._next_first, count, first_t)
            self._next_first += count
            self.ring.append(fragment)
            done.append(fragment)
        return done

    def close(self) -> list[Fragment]:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        done = self._collect()
        if done:  # the last fragment holds whatever was left, not a full interval
            done[-1].frames = self.frames - done[-1].first_frame
        return done
