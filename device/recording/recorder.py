"""The recording side of the device: continuous encoding into a pre-roll ring, clips cut from it,
snapshots, the index, crash repair and retention.

`push` runs on the recording thread; `event_started`/`event_ended`/`save_snapshot` come from
other threads and only touch shared state under the lock.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from config.data_dir import DataDir
from config.privacy import PrivacyConfig
from config.record import RecordConfig, StorageConfig
from device.frame import Frame
from device.recording.clip import ClipInfo
from device.recording.clip_file import ClipFile
from device.recording.fragment_ring import EncodedStream
from device.recording.fragments import Fragment
from device.recording.masks import PrivacyMask
from device.recording.stream_encoder import StreamEncoder
from device.storage import retention
from device.storage.index import EventIndex
from device.storage.repair import RepairReport, repair
from uplink.e2e import AgeEncryptor

log = logging.getLogger(__name__)
DISK_RETRY_SECONDS = 60.0  # a full card: how long before writing a clip is tried again


@dataclass
class Snapshot:
    jpeg: bytes
    picture: np.ndarray  # what the JPEG shows, masks burned in: re-encoding it needs no decoding
    path: Path | None = None  # stored snapshots only
    thumbnail: bytes = b""


@dataclass
class RecorderStatus:
    recording: bool
    state: str  # ok | off | disk_full
    ring_bytes: int
    clips: int


@dataclass
class _OpenClip:
    file: ClipFile
    clip_id: str
    events: dict[str, float | None]  # event id -> its end time (None while it goes on)
    start_wall: float
    segment: bool = False  # continuous mode: ends on the clock, not with its events


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
        self.record, self.storage = record, storage
        self.data_dir, self.fps, self.size = data_dir, fps, size
        self.on_clip, self.clock = on_clip, clock
        self.mask = PrivacyMask(privacy.masks)
        # At rest: a finished clip is kept only as age ciphertext to the owner's keys.
        self.at_rest = AgeEncryptor(privacy.e2e.recipients if privacy.e2e.at_rest else [])
        files = DataDir(data_dir)
        self.clips_dir = files.clips
        self.snapshots_dir = files.snapshots
        data_dir.mkdir(parents=True, exist_ok=True)
        self.index = EventIndex(files.index)
        self._lock = threading.Lock()
        self._stream: EncodedStream | None = None
        self._camera_encodes = False  # the camera encodes (and masks) the main stream itself
        self.continuous = record.mode == "continuous"  # the device turns it off when disarmed
        self._wall_offset = 0.0  # a frame's wall time minus its frame time
        self._retry_at = 0.0  # frame time after which a full disk is tried again
        self._open: _OpenClip | None = None
        self._wanted: dict[str, tuple[float, float]] = {}  # new events: id -> (t, wall)
        self._ended_early: dict[str, float] = {}  # new events that ended before they were seen
        self._state = "off" if record.mode == "off" else "ok"
        self.clips_written = 0

    def start(self) -> RepairReport:
        self.clips_dir.mkdir(parents=True, exist_ok=True)
        self.snapshots_dir.mkdir(parents=True, exist_ok=True)
        report = repair(self.index, self.data_dir, self.fps)
        if self.at_rest.enabled:  # what a crash left was plaintext: it is not kept that way
            for clip_id in report.kept_damaged:
                row = self.index.get_clip(clip_id)
                if row is not None and not row.file.endswith(".age"):
                    path, size, sha256 = self._encrypt_at_rest(self.data_dir / row.file)
                    self.index.finish_clip(
                        clip_id, f"clips/{path.name}", row.end_wall, row.seconds, row.frames,
                        size, sha256, state="damaged",
                    )  # fmt: skip
        retention.enforce(self.index, self.data_dir, self.storage, self.clock())
        return report

    # -- other threads ----------------------------------------------------------------------------
    def event_started(self, event_id: str, kind: str, t: float, wall: float) -> None:
        self.index.add_event(event_id, kind, wall)
        if self.record.mode != "off":
            with self._lock:
                self._wanted[event_id] = (t, wall)

    def event_ended(
        self, event_id: str, t: float, wall: float, score: float, zones: list[str]
    ) -> None:
        self.index.end_event(event_id, wall, score, zones)
        with self._lock:
            if self._open is not None and event_id in self._open.events:
                self._open.events[event_id] = t
            elif event_id in self._wanted:  # ended before the recording thread saw it start
                self._ended_early[event_id] = t

    def snapshot(self, image: np.ndarray) -> Snapshot:
        """A JPEG with the masks burned in, not stored (`cmd/snapshot`); `image` is left as it
        was (without masks it is not copied: at 720p a copy is 2.7 MB)."""
        picture = self.mask.apply(image.copy()) if self.mask.masks else image
        return Snapshot(self._jpeg(picture), picture)

    def save_snapshot(self, event_id: str, image: np.ndarray) -> Snapshot:
        """JPEG and thumbnail with the masks burned in, stored and indexed."""
        snap = self.snapshot(image)
        width = self.record.thumbnail_width
        height = max(1, round(snap.picture.shape[0] * width / snap.picture.shape[1]))
        small = cv2.resize(snap.picture, (width, height), interpolation=cv2.INTER_AREA)
        snap.thumbnail = self._jpeg(small)
        snap.path = self.snapshots_dir / f"{event_id}.jpg"
        snap.path.write_bytes(snap.jpeg)
        (self.snapshots_dir / f"{event_id}.thumb.jpg").write_bytes(snap.thumbnail)
        self.index.set_snapshot(
            event_id, f"snapshots/{event_id}.jpg", f"snapshots/{event_id}.thumb.jpg"
        )
        return snap

    def _jpeg(self, picture: np.ndarray) -> bytes:
        quality = [cv2.IMWRITE_JPEG_QUALITY, self.record.snapshot_quality]
        return cv2.imencode(".jpg", picture, quality)[1].tobytes()

    def status(self) -> RecorderStatus:
        stream = self._stream
        return RecorderStatus(
            recording=self._open is not None,
            state=self._state,
            ring_bytes=stream.ring_bytes if stream else 0,
            clips=self.clips_written,
        )

    # -- the recording thread ---------------------------------------------------------------------
    def use_camera_stream(self, stream: EncodedStream | None) -> None:
        """Take clips from what the camera encodes itself (picamera2), masks already burned in."""
        if stream is not None:
            self._stream, self._camera_encodes = stream, True

    def push(self, frame: Frame) -> None:
        if self.record.mode == "off":
            return
        if self._stream is None:
            height, width = frame.main.shape[:2]
            self._stream = StreamEncoder(
                self.fps, (width, height), self.record.bitrate, self.record.preset,
                self.record.keyframe_frames(self.fps), self.record.ring_seconds,
            )  # fmt: skip
        self._wall_offset = frame.wall - frame.t
        main = frame.main if self._camera_encodes else self.mask.apply(frame.main)
        for fragment in self._stream.feed(main, frame.t):
            self._append(fragment)
        if not self._stream.ring:
            return  # nothing to cut a clip from yet: new events wait for the first fragment
        with self._lock:
            wanted, self._wanted = self._wanted, {}
            ended_early, self._ended_early = self._ended_early, {}
        for event_id, (t, wall) in wanted.items():
            self._join_or_open(event_id, t, wall, ended_early.get(event_id))

    def _join_or_open(self, event_id: str, t: float, wall: float, ended: float | None) -> None:
        if self._open is not None:
            self._open.events[event_id] = ended
            self.index.link_event(self._open.clip_id, event_id)
            return
        assert self._stream is not None
        ring = list(self._stream.ring)
        # From the keyframe at or before t - pre_seconds (or the oldest the ring still has).
        first = 0
        for i, fragment in enumerate(ring):
            if fragment.first_t <= t - self.record.pre_seconds:
                first = i
        start_wall = wall - (t - ring[first].first_t)
        if self._start_clip(event_id, {event_id: ended}, ring[first], start_wall):
            for fragment in ring[first:]:
                self._append(fragment, check=False)

    def _start_clip(
        self,
        clip_id: str,
        events: dict[str, float | None],
        first: Fragment,
        start_wall: float,
        segment: bool = False,
    ) -> bool:
        """Open `clips/<clip_id>.mp4` from `first` and index it; False when the disk is full."""
        if self._state == "disk_full" and first.first_t < self._retry_at:
            return False
        assert self._stream is not None
        path = self.clips_dir / f"{clip_id}.mp4"
        try:
            clip = ClipFile(path, self._stream.init_segment, first)
        except OSError as exc:
            self._disk_full(exc, first.first_t)
            return False
        self._open = _OpenClip(clip, clip_id, events, start_wall, segment)
        self.index.add_clip(clip_id, list(events), f"clips/{path.name}", start_wall)
        if self._state == "disk_full":
            log.info("recording again: clips can be written")
            self._state = "ok"
        return True

    def _append(self, fragment: Fragment, check: bool = True) -> None:
        if self._open is None and self.continuous and check:
            # Continuous mode: the next segment starts with this fragment (no gap, no overlap).
            start_wall = fragment.first_t + self._wall_offset
            self._start_clip(f"segment-{uuid.uuid4()}", {}, fragment, start_wall, segment=True)
        open_clip = self._open
        if open_clip is None:
            return
        try:
            open_clip.file.append(fragment)
        except OSError as exc:
            open_clip.file.abandon()
            self.index.delete_clip(open_clip.clip_id)
            self._open = None
            self._disk_full(exc, fragment.first_t)
            return
        if not check:
            return
        with self._lock:
            ends = list(open_clip.events.values())
        end_of_fragment = fragment.first_t + fragment.frames / self.fps
        length = end_of_fragment - open_clip.file.first_t
        all_ended = all(end is not None for end in ends)
        last_end = max((e for e in ends if e is not None), default=0.0)
        events_done = all_ended and end_of_fragment >= last_end + self.record.post_seconds
        if open_clip.segment:  # on the clock; or, once turned off, like an event clip
            done = length >= self.record.segment_minutes * 60 or (
                not self.continuous and events_done
            )
        else:
            done = events_done or length >= self.record.max_seconds
        if done:
            self._finish()

    def _finish(self) -> None:
        open_clip, self._open = self._open, None
        if open_clip is None:
            return
        clip = open_clip.file
        try:
            sha256 = clip.finish()
        except OSError as exc:
            clip.abandon()
            self.index.delete_clip(open_clip.clip_id)
            self._disk_full(exc, clip.first_t + clip.frames / self.fps)
            return
        seconds = clip.frames / self.fps
        path, size = clip.path, clip.bytes
        if self.at_rest.enabled:
            path, size, sha256 = self._encrypt_at_rest(path)
        self.index.finish_clip(
            open_clip.clip_id, f"clips/{path.name}", open_clip.start_wall + seconds,
            seconds, clip.frames, size, sha256,
        )  # fmt: skip
        self.clips_written += 1
        self.on_clip(
            ClipInfo(
                tuple(open_clip.events), path, clip.first_t, seconds, clip.frames, size, sha256
            )
        )
        freed = retention.enforce(self.index, self.data_dir, self.storage, self.clock())
        if freed and self._state == "disk_full":
            self._state = "ok"

    def _encrypt_at_rest(self, path: Path) -> tuple[Path, int, str]:
        """Replace a finished clip with its age ciphertext; returns (path, bytes, sha256)."""
        target = path.with_name(path.name + ".age")
        partial = target.with_name(target.name + ".partial")
        self.at_rest.encrypt_file(path, partial)
        partial.replace(target)
        path.unlink()
        data = target.read_bytes()
        return target, len(data), hashlib.sha256(data).hexdigest()

    def _disk_full(self, exc: OSError, t: float) -> None:
        log.error(
            "recording stopped: cannot write clips (%s); alerts go on; trying again in %g s",
            exc, DISK_RETRY_SECONDS,
        )  # fmt: skip
        self._state = "disk_full"
        self._retry_at = t + DISK_RETRY_SECONDS
        retention.enforce(self.index, self.data_dir, self.storage, self.clock())

    def close(self) -> None:
        """Finish the open clip with what has been encoded (SIGTERM)."""
        if self._stream is not None:
            for fragment in self._stream.close():
                self._append(fragment, check=False)
            self._stream = None
        self._finish()
        self.index.close()
