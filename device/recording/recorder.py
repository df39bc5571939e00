"""The recording side of the device, as the runtime sees it (first version over ClipRecorder;
the encoded pre-roll ring, index and retention replace the inside, not this interface)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from config.privacy import PrivacyConfig
from config.record import RecordConfig, StorageConfig
from device.frame import Frame
from device.recording.clip_recorder import ClipInfo, ClipRecorder


@dataclass
class Snapshot:
    path: Path
    jpeg: bytes


@dataclass
class RecorderStatus:
    recording: bool
    state: str = "ok"


class Recorder:
    def __init__(
        self,
        record: RecordConfig,
        storage: StorageConfig,
        privacy: PrivacyConfig,
        data_dir: Path,
        fps: float,
        size: tuple[int, int],
        on_clip: Callable[[ClipInfo], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.record = record
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._clips = ClipRecorder(record, privacy, data_dir / "clips", fps, on_clip)

    def start(self) -> None:
        (self.data_dir / "snapshots").mkdir(parents=True, exist_ok=True)

    def push(self, frame: Frame) -> None:
        with self._lock:
            self._clips.push(frame)

    def event_started(self, event_id: str, kind: str, t: float, wall: float) -> None:
        with self._lock:
            self._clips.open_event(event_id, t)

    def event_ended(
        self, event_id: str, t: float, wall: float, score: float, zones: list[str]
    ) -> None:
        with self._lock:
            self._clips.close_event(event_id, t)

    def save_snapshot(self, event_id: str, image: np.ndarray) -> Snapshot:
        _, jpeg = cv2.imencode(
            ".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.record.snapshot_quality]
        )
        path = self.data_dir / "snapshots" / f"{event_id}.jpg"
        path.write_bytes(jpeg.tobytes())
        return Snapshot(path, jpeg.tobytes())

    def status(self) -> RecorderStatus:
        return RecorderStatus(recording=self._clips.recording)

    def close(self) -> None:
        with self._lock:
            self._clips.close()
