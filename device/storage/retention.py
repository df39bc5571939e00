"""Retention: the card never fills, and what goes, goes whole.

An event's files are its clip, its snapshot and thumbnail, and any copy waiting in `outgoing/`
to be shared; `Retention` is the one place that deletes them, with their index rows, whether the
rules call for it (oldest clips first, never one being written or kept) or the owner does
(`doorbell clips delete`). Shares that can no longer be sent (their URL expired) go too.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable

from pydantic import ValidationError

from doorbell.config.data_dir import DataDir
from doorbell.config.record import StorageConfig
from doorbell.device.storage.index import ClipRow, EventIndex, EventRow
from doorbell.uplink.requests.share import ShareRecord

log = logging.getLogger(__name__)


class Retention:
    def __init__(self, index: EventIndex, files: DataDir, cfg: StorageConfig) -> None:
        self.index, self.files, self.cfg = index, files, cfg

    def enforce(self, now: float) -> list[str]:
        """Delete clips until every rule holds; returns the ids deleted. Events without a clip
        (a snapshot only) go once they are older than `max_age_days`."""
        clips = [c for c in self.index.clips() if c.state != "recording" and not c.keep]
        total = sum(c.bytes for c in self.index.clips())
        max_age = self.cfg.max_age_days * 86400
        min_free = self.cfg.min_free(shutil.disk_usage(self.files.root).total)
        deleted = []
        for clip in clips:  # oldest first
            too_old = now - clip.end_wall > max_age
            too_big = total > self.cfg.max_bytes
            too_full = shutil.disk_usage(self.files.root).free < min_free
            if not (too_old or too_big or too_full):
                break
            self.delete_clip(clip)
            total -= clip.bytes
            deleted.append(clip.id)
            reason = "age" if too_old else "size quota" if too_big else "free space"
            log.info("retention (%s): deleted clip %s", reason, clip.id)
        self._delete_events(self.index.events_without_clip(ended_before=now - max_age))
        self._drop_shares(lambda record: record.expires <= now)
        return deleted

    def delete_clip(self, clip: ClipRow) -> None:
        """The clip, the events it holds (rows, snapshots, thumbnails) and shares holding it.
        An event still going on keeps its row and snapshot, without the clip."""
        events = self.index.events_of_clip(clip.id)
        self._unlink(clip.file)
        self.index.delete_clip(clip.id)
        self._delete_events([e for e in events if e.end_wall is not None])
        self._drop_shares(lambda record: clip.id in record.clip_ids)

    def _delete_events(self, events: list[EventRow]) -> None:
        for event in events:
            self._unlink(event.snapshot)
            self._unlink(event.thumbnail)
        self.index.delete_events([e.id for e in events])

    def _unlink(self, stored: str | None) -> None:
        if stored:
            self.files.resolve(stored).unlink(missing_ok=True)

    def _drop_shares(self, doomed: Callable[[ShareRecord], bool]) -> None:
        if not self.files.outgoing.is_dir():
            return
        for folder in sorted(self.files.outgoing.iterdir()):
            try:
                record = ShareRecord.model_validate_json(
                    self.files.share_record(folder.name).read_bytes()
                )
            except (OSError, ValidationError):
                continue  # not begun yet: the share job deals with it
            if doomed(record):
                shutil.rmtree(folder, ignore_errors=True)
                log.info("retention: dropped the files waiting to go to %s", record.request_id)
