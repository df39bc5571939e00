"""Writing BGR frames to an H.264 MP4 that browsers and phones play (PyAV with libx264)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

# Fragmented MP4: a file cut short (a crash, a full disk) still plays up to its last fragment.
FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}


class Mp4Writer:
    def __init__(
        self,
        path: Path,
        fps: float,
        size: tuple[int, int],
        preset: str = "veryfast",
        bitrate: int = 1_500_000,
        keyframe_frames: int | None = None,
    ) -> None:
        self.path = path
        self._container: Any = av.open(str(path), "w", format="mp4", options=FRAGMENTED)
        stream: Any = self._container.add_stream(
            "libx264", rate=Fraction(fps).limit_denominator(1001)
        )
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bitrate
        options = {"preset": preset}
        if keyframe_frames:
            options["g"] = str(keyframe_frames)
        stream.options = options
        self._stream = stream
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = self.frames
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
