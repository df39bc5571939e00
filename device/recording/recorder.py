"""The recording side of the device, composed: the main stream encoded into a pre-roll ring
(by `StreamEncoder`, or by the camera itself), clips cut from it (`ClipCutter`), snapshots
(`SnapshotStore`), at-rest encryption (`AtRest`), the disk-full state (`DiskState`), crash
repair at start, and retention (`Retention`) on its own thread after every clip
(`RetentionSchedule`).

`push` runs on the recording thread; `event_started`/`event_ended`/`save_snapshot` come from
other threads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from doorbell.config.data_dir import DataDir
from doorbell.config.privacy import PrivacyConfig
from doorbell.config.record import RecordConfig, StorageConfig
from doorbell.device.recording.at_rest import AtRest
from doorbell.device.recording.clip import ClipInfo
from doorbell.device.recording.clip_cutter import ClipCutter
from doorbell.device.recording.disk_state import DiskState
from doorbell.device.recording.encoded_stream import EncodedStream
from doorbell.device.recording.masks import PrivacyMask
from doorbell.device.recording.snapshot_store import Snapshot, SnapshotStore
from doorbell.device.recording.stream_encoder import StreamEncoder
from doorbell.device.runtime.frame import Frame
from doorbell.device.storage.index import EventIndex
from doorbell.device.storage.repair import RepairReport, repair
from doorbell.device.storage.retention import Retention
from doorbell.device.storage.retention_schedule import RetentionSchedule

__all__ = ["Recorder", "RecorderStatus", "Snapshot"]
log = logging.getLogger(__name__)


@dataclass
class RecorderStatus:
    recording: bool
    state: str  # ok | off | disk_full
    ring_bytes: int
    clips: int
    failure: str | None  # why clips could not be written this run (the last time), if ever


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
        on_no_clip: Callable[[list[str]], None] = lambda event_ids: None,
        on_disk: Callable[[str, str | None], None] = lambda state, failure: None,
    ) -> None:
        """`on_no_clip`: events whose clip will not come after all (a full disk; a disarm's
        cut, on the thread that disarms)."""
        self.record = record
        self.data_dir, self.fps, self.size = data_dir, fps, size
        self.on_clip, self.clock = on_clip, clock
        self.files = DataDir(data_dir)
        self.mask = PrivacyMask(privacy.masks)
        # At rest: finished clips, snapshots and thumbnails are kept only as age ciphertext.
        self.at_rest = AtRest(privacy.e2e.recipients if privacy.e2e.at_rest else [])
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.index = EventIndex(self.files.index)
        self.retention = Retention(self.index, self.files, storage)
        self.disk = DiskState(record.mode == "off", self._make_room, on_disk)
        self.retention_schedule = RetentionSchedule(self._make_room, self.disk.room_made)
        self.snapshots = SnapshotStore(self.files, record, self.mask, self.at_rest)
        self.cutter = ClipCutter(
            record, fps, self.files, self.index, self.disk, self.at_rest, self._clip_done
        )
        self.cutter.on_no_clip = on_no_clip
        self._camera_encodes = False  # the camera encodes (and masks) the main stream itself
        self._passthrough = False  # the camera's own H.264, unmasked (no mask configured)

    @property
    def continuous(self) -> bool:
        return self.cutter.continuous

    @continuous.setter
    def continuous(self, on: bool) -> None:  # the device turns it off when disarmed
        self.cutter.continuous = on

    def start(self) -> RepairReport:
        """Repair what a crash left, then make room. On a full disk the device starts all the
        same, recording stopped (a restart loop under systemd would stop the alerts too)."""
        for folder in (self.files.clips, self.files.snapshots):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        report = RepairReport()
        for attempt in range(2):
            try:
                report = repair(self.index, self.data_dir, self.fps)
                self._seal_repaired(report)
                break
            except OSError as exc:  # a full disk: make room (retention) and try once more
                if attempt:
                    log.error("repair after a crash left for the next start: %s", exc)
                    self.disk.full(exc, 0.0)
                else:
                    self._make_room()
        self._make_room()
        self.retention_schedule.start()
        return report

    def _seal_repaired(self, report: RepairReport) -> None:
        if self.at_rest.enabled:  # what a crash left was plaintext: it is not kept that way
            for clip_id in report.kept_damaged:
                row = self.index.get_clip(clip_id)
                if row is not None and not row.file.endswith(".age"):
                    path, size, sha256 = self.at_rest.seal(self.files.resolve(row.file))
                    self.index.finish_clip(
                        clip_id,
                        self.files.relative(path),
                        row.end_wall,
                        row.seconds,
                        row.frames,
                        size,
                        sha256,
                        state="damaged",
                    )

    # -- other threads ----------------------------------------------------------------------------
    def event_started(self, event_id: str, kind: str, t: float, wall: float) -> None:
        try:
            self.index.add_event(event_id, kind, wall)
        except OSError as exc:  # the alert has gone already; the index is on a full disk
            self.disk.full(exc, t)
        if self.record.mode != "off":
            self.cutter.event_started(event_id, t, wall)

    def event_ended(
        self, event_id: str, t: float, wall: float, score: float, zones: list[str]
    ) -> None:
        try:
            self.index.end_event(event_id, wall, score, zones)
        except OSError as exc:
            self.disk.full(exc, t)
        self.cutter.event_ended(event_id, t)

    def label_event(self, event_id: str, label: str, t: float) -> None:
        """What moved in an indexed event, as the classifier voted (the page shows it); `t`:
        the frame time it is known at."""
        try:
            self.index.set_label(event_id, label)
        except OSError as exc:  # the alert goes all the same; the index is on a full disk
            self.disk.full(exc, t)

    def cut(self, t: float) -> None:
        """Stop recording at frame time `t`: the open clip ends there, without post-roll."""
        self.cutter.cut(t)

    def resume(self) -> None:
        """Recording is on again (the device re-armed after a cut)."""
        self.cutter.resume()

    def snapshot(self, yuv: np.ndarray) -> Snapshot:
        """A JPEG of an I420 picture with the masks burned in, not stored (`cmd/snapshot`);
        `yuv` is left as it was."""
        return self.snapshots.take(yuv)

    def save_snapshot(self, event_id: str, yuv: np.ndarray) -> Snapshot:
        """JPEG and thumbnail of an I420 picture with the masks burned in, stored and indexed."""
        try:
            snap = self.snapshots.save(event_id, yuv)
            assert snap.path is not None and snap.thumbnail_path is not None
            self.index.set_snapshot(
                event_id, self.files.relative(snap.path), self.files.relative(snap.thumbnail_path)
            )
            return snap
        except OSError as exc:  # a full disk: not stored, still sent (the alert's picture)
            log.error("snapshot not stored: %s", exc, extra={"event_id": event_id})
            for path in (self.files.snapshot(event_id), self.files.thumbnail(event_id)):
                for stored in (path, path.with_name(path.name + ".age")):  # plain or at rest
                    for leftover in (stored, stored.with_name(stored.name + ".partial")):
                        leftover.unlink(missing_ok=True)  # no index row would ever name it
            return self.snapshots.take(yuv)

    def status(self) -> RecorderStatus:
        stream = self.cutter.stream
        return RecorderStatus(
            recording=self.cutter.recording,
            state=self.disk.state,
            ring_bytes=stream.ring_bytes if stream else 0,
            clips=self.cutter.clips_written,
            failure=self.disk.failure,
        )

    # -- the recording thread ---------------------------------------------------------------------
    def use_camera_stream(self, stream: EncodedStream | None) -> None:
        """Take clips from what the camera encodes itself (picamera2), masks already burned in."""
        if stream is not None:
            self.cutter.stream, self._camera_encodes = stream, True

    def use_passthrough(self, stream: EncodedStream | None) -> None:
        """Take clips from the camera's own H.264 (device.recording.passthrough_stream), while
        no privacy mask needs burning in."""
        if stream is not None:
            self.cutter.stream, self._camera_encodes, self._passthrough = stream, True, True

    def push(self, frame: Frame) -> None:
        if self.record.mode == "off":
            return
        if self._passthrough and self.mask:
            # A mask drawn on the page: the camera's own picture would show what it hides. The
            # clip under way ends here; from this frame on the recorder encodes, masks burned in.
            self._passthrough = self._camera_encodes = False
            self.cutter.close()
        stream = self.cutter.stream
        if stream is None:
            stream = self.cutter.stream = StreamEncoder.for_record(
                self.record, self.fps, (frame.width, frame.height)
            )
        # Masked in place, not copied (1.4 MB a frame at 720p): whatever else shows this frame
        # (a snapshot) masks it too, and black stays black.
        main = frame.main if self._camera_encodes else self.mask.apply_i420(frame.main)
        try:
            self.cutter.push(stream.feed(main, frame.t), frame.wall - frame.t)
        except OSError as exc:  # any write the cutter did not expect to fail: never the thread
            self.cutter.drop_open(exc, frame.t)

    def close(self) -> None:
        """Finish the open clip with what has been encoded (SIGTERM)."""
        self.retention_schedule.stop()  # before the index it deletes from is closed
        try:
            self.cutter.close()
        except OSError as exc:
            self.cutter.drop_open(exc, 0.0)
        self.index.close()

    # -- inside -----------------------------------------------------------------------------------
    def _clip_done(self, clip: ClipInfo) -> None:
        self.on_clip(clip)
        self.retention_schedule.clip_finished()  # deleting runs on its own thread, not this one

    def _make_room(self) -> list[str]:
        try:
            return self.retention.enforce(self.clock())
        except OSError as exc:  # files it unlinked are gone; their rows go next time
            log.error("retention could not finish: %s", exc)
            return []
