"""Snapshots: a JPEG of the moment with the privacy masks burned in, and a thumbnail of it.

Stored ones go to `snapshots/` (age ciphertext when `privacy.e2e.at_rest`); `cmd/snapshot`
takes one without storing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from doorbell.config.data_dir import DataDir
from doorbell.config.record import RecordConfig
from doorbell.device.recording.at_rest import AtRest
from doorbell.device.recording.jpeg_picture import JpegPicture
from doorbell.device.recording.masks import PrivacyMask


@dataclass
class Snapshot:
    jpeg: bytes
    picture: JpegPicture  # what the JPEG shows, masks burned in: re-encoding it needs no decoding
    path: Path | None = None  # stored snapshots only
    thumbnail: bytes = b""
    thumbnail_path: Path | None = None


class SnapshotStore:
    def __init__(self, files: DataDir, record: RecordConfig, mask: PrivacyMask, at_rest: AtRest):
        self.files, self.record, self.mask, self.at_rest = files, record, mask, at_rest

    def take(self, yuv: np.ndarray) -> Snapshot:
        """A JPEG of an I420 picture with the masks burned in, not stored; `yuv` is left as it
        was. Straight from YUV: a JPEG is YCbCr 4:2:0 itself."""
        picture = JpegPicture(yuv, self.mask)
        return Snapshot(picture.jpeg(self.record.snapshot_quality), picture)

    def save(self, event_id: str, yuv: np.ndarray) -> Snapshot:
        """JPEG and thumbnail with the masks burned in, stored (encrypted at rest when asked)."""
        snap = self.take(yuv)
        record = self.record
        snap.thumbnail = snap.picture.jpeg(record.snapshot_quality, record.thumbnail_width)
        snap.path = self.at_rest.write(self.files.snapshot(event_id), snap.jpeg)
        snap.thumbnail_path = self.at_rest.write(self.files.thumbnail(event_id), snap.thumbnail)
        return snap
