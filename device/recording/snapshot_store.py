"""Snapshots: a JPEG of the moment with the privacy masks burned in, and a thumbnail of it.

Stored ones go to `snapshots/` (age ciphertext when `privacy.e2e.at_rest`); `cmd/snapshot`
takes one without storing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from config.data_dir import DataDir
from config.record import RecordConfig
from device.frame import bgr_of
from device.recording.at_rest import AtRest
from device.recording.masks import PrivacyMask


@dataclass
class Snapshot:
    jpeg: bytes
    picture: np.ndarray  # what the JPEG shows, masks burned in: re-encoding it needs no decoding
    path: Path | None = None  # stored snapshots only
    thumbnail: bytes = b""
    thumbnail_path: Path | None = None


class SnapshotStore:
    def __init__(self, files: DataDir, record: RecordConfig, mask: PrivacyMask, at_rest: AtRest):
        self.files, self.record, self.mask, self.at_rest = files, record, mask, at_rest

    def take(self, yuv: np.ndarray) -> Snapshot:
        """A JPEG of an I420 picture with the masks burned in, not stored; `yuv` is left as it
        was. The one conversion to BGR happens here, only when a snapshot is taken."""
        picture = self.mask.apply(bgr_of(yuv))
        return Snapshot(self._jpeg(picture), picture)

    def save(self, event_id: str, yuv: np.ndarray) -> Snapshot:
        """JPEG and thumbnail with the masks burned in, stored (encrypted at rest when asked)."""
        snap = self.take(yuv)
        width = self.record.thumbnail_width
        height = max(1, round(snap.picture.shape[0] * width / snap.picture.shape[1]))
        small = cv2.resize(snap.picture, (width, height), interpolation=cv2.INTER_AREA)
        snap.thumbnail = self._jpeg(small)
        snap.path = self.at_rest.write(self.files.snapshot(event_id), snap.jpeg)
        snap.thumbnail_path = self.at_rest.write(self.files.thumbnail(event_id), snap.thumbnail)
        return snap

    def _jpeg(self, picture: np.ndarray) -> bytes:
        quality = [cv2.IMWRITE_JPEG_QUALITY, self.record.snapshot_quality]
        return cv2.imencode(".jpg", picture, quality)[1].tobytes()
