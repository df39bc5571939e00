"""Retention: the card never fills. Oldest clips go first; never one being written or kept."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from config.record import StorageConfig
from device.storage.index import EventIndex

log = logging.getLogger(__name__)


def enforce(index: EventIndex, data_dir: Path, cfg: StorageConfig, now: float) -> list[str]:
    """Delete clips until every rule holds; returns the ids deleted."""
    clips = [c for c in index.clips() if c.state != "recording" and not c.keep]
    total = sum(c.bytes for c in index.clips())
    deleted = []
    for clip in clips:  # oldest first
        too_old = now - clip.end_wall > cfg.max_age_days * 86400
        too_big = total > cfg.max_bytes
        too_full = shutil.disk_usage(data_dir).free < cfg.min_free_bytes
        if not (too_old or too_big or too_full):
            break
        (data_dir / clip.file).unlink(missing_ok=True)
        index.delete_clip(clip.id)
        total -= clip.bytes
        deleted.append(clip.id)
        reason = "age" if too_old else "size quota" if too_big else "free space"
        log.info("retention (%s): deleted clip %s", reason, clip.id)
    return deleted
