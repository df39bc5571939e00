"""Writes one H.264 MP4 clip per event, starting `pre_seconds` before it (first version)."""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2

from config.privacy import PrivacyConfig
from config.record import RecordConfig
from device.frame import Frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipInfo:
    event_ids: tuple[str, ...]
    path: Path
    start_t: float
    seconds: float
    frames: int
    bytes: int
    sha256: str


class ClipRecorder:
    """Fed every frame by the recording thread; events open and close clips by id."""

    def __init__(
        self,
        record: RecordConfig,
        privacy: PrivacyConfig,
        clips_dir: Path,
        fps: float,
        on_clip: Callable[[ClipInfo], None],
    ) -> None:
        self.record, self.privacy = record, privacy
        self.clips_dir = clips_dir
        self.fps = fps
        self.on_clip = on_clip
        self._preroll: deque[Frame] = deque(maxlen=max(1, round(record.pre_seconds * fps)))
        self._container: Any = None
        self._stream: Any = None
        self._path: Path | None = None
        self._events: dict[str, float | None] = {}  # id -> end time (None while active)
        self._first_t = 0.0
        self._last_t = 0.0
        self._frames = 0

    @property
    def recording(self) -> bool:
        return self._container is not None

    def open_event(self, event_id: str, t: float) -> None:
        self._events[event_id] = None
        if self._container is None:
            self._open_clip(event_id)

    def close_event(self, event_id: str, t: float) -> None:
        if event_id in self._events:
            self._events[event_id] = t

    def push(self, frame: Frame) -> None:
        if self._container is None:
            self._preroll.append(frame)
            return
        self._write(frame)
        ends = list(self._events.values())
        all_ended = all(end is not None for end in ends)
        last_end = max((end for end in ends if end is not None), default=frame.t)
        post_done = all_ended and frame.t >= last_end + self.record.post_seconds
        if post_done or frame.t - self._first_t >= self.record.max_seconds:
            self._finish()

    def close(self) -> None:
        if self._container is not None:
            self._finish()

    def snapshot(self, frame: Frame) -> bytes:
        ok, jpeg = cv2.imencode(
            ".jpg", frame.main, [cv2.IMWRITE_JPEG_QUALITY, self.record.snapshot_quality]
        )
        return jpeg.tobytes() if ok else b""

    def _open_clip(self, event_id: str) -> None:
        self.clips_dir.mkdir(parents=True, exist_ok=True)
        self._path = self.clips_dir / f"{event_id}.mp4"
        partial = self._path.with_suffix(".mp4.partial")
        self._container = av.open(
            str(partial),
            "w",
            format="mp4",
            options={"movflags": "frag_keyframe+empty_moov+default_base_moof"},
        )
        rate = Fraction(self.fps).limit_denominator(1000)
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.pix_fmt = "yuv420p"
        self._stream.bit_rate = self.record.bitrate
        self._stream.options = {
            "preset": self.record.preset,
            "g": str(max(1, round(self.record.keyframe_seconds * self.fps))),
        }
        self._frames = 0
        pending = list(self._preroll)
        self._preroll.clear()
        self._first_t = pending[0].t if pending else 0.0
        for old in pending:
            self._write(old)

    def _write(self, frame: Frame) -> None:
        stream = self._stream
        if self._frames == 0:
            stream.width, stream.height = frame.main.shape[1], frame.main.shape[0]
            self._first_t = frame.t
        video = av.VideoFrame.from_ndarray(frame.main, format="bgr24")
        video.pts = self._frames
        for packet in stream.encode(video):
            self._container.mux(packet)
        self._frames += 1
        self._last_t = frame.t

    def _finish(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        assert self._path is not None
        partial = self._path.with_suffix(".mp4.partial")
        partial.replace(self._path)
        data = self._path.read_bytes()
        info = ClipInfo(
            event_ids=tuple(self._events),
            path=self._path,
            start_t=self._first_t,
            seconds=self._frames / self.fps,
            frames=self._frames,
            bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        self._container = self._stream = self._path = None
        self._events = {}
        self.on_clip(info)
