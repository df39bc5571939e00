"""Clips cut from the encoded stream: from the keyframe `pre_seconds` before an event to
`post_seconds` after the last event it holds ends (or `max_seconds`); in continuous mode,
back-to-back segments of `segment_minutes`.

`push` runs on the recording thread; `event_started`/`event_ended` (the analysis thread, the
button's) and `cut` (the thread that disarms) come from other threads and only touch shared
state under the lock; `cut` calls `on_no_clip` on its own thread, so that must be thread-safe.
A clip's row is in the index from the moment its file is opened (see `device.storage.index`).
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from doorbell.config.data_dir import DataDir
from doorbell.config.record import RecordConfig
from doorbell.device.recording.at_rest import AtRest
from doorbell.device.recording.clip import ClipInfo
from doorbell.device.recording.clip_file import ClipFile
from doorbell.device.recording.disk_state import DiskState
from doorbell.device.recording.encoded_stream import EncodedStream
from doorbell.device.recording.fragments import Fragment
from doorbell.device.storage.index import EventIndex


@dataclass
class _OpenClip:
    file: ClipFile
    clip_id: str
    events: dict[str, float | None]  # event id -> its end time (None while it goes on)
    start_wall: float
    segment: bool = False  # continuous mode: ends on the clock, not with its events


class ClipCutter:
    def __init__(
        self,
        record: RecordConfig,
        fps: float,
        files: DataDir,
        index: EventIndex,
        disk: DiskState,
        at_rest: AtRest,
        on_clip: Callable[[ClipInfo], None],
    ) -> None:
        self.record, self.fps, self.files, self.index = record, fps, files, index
        self.disk, self.at_rest, self.on_clip = disk, at_rest, on_clip
        self.on_no_clip: Callable[[list[str]], None] = lambda event_ids: None
        self.stream: EncodedStream | None = None
        self.continuous = record.mode == "continuous"  # the device turns it off when disarmed
        self.clips_written = 0
        self._lock = threading.Lock()
        self._open: _OpenClip | None = None
        self._wanted: dict[str, tuple[float, float]] = {}  # new events: id -> (t, wall)
        self._ended_early: dict[str, float] = {}  # waiting events that ended already
        self._wall_offset = 0.0  # a frame's wall time minus its frame time
        self._cut_at: float | None = None  # frame time after which the open clip must not run
        self._last_cut: float | None = None  # the latest cut, spent or not, until resumed

    @property
    def recording(self) -> bool:
        return self._open is not None

    # -- other threads ----------------------------------------------------------------------------
    def event_started(self, event_id: str, t: float, wall: float) -> None:
        with self._lock:
            self._wanted[event_id] = (t, wall)
            if self._last_cut is not None and t <= self._last_cut:
                # Begun before a disarm but heard of after it (the alert was decided before):
                # its clip ends at that cut, as a waiting one's does: nothing after a disarm.
                self._cut_at = self._last_cut

    def event_ended(self, event_id: str, t: float) -> None:
        with self._lock:
            open_clip = self._open  # (once: `_finish` lets go of it without the lock)
            if open_clip is not None and event_id in open_clip.events:
                open_clip.events[event_id] = t
            elif event_id in self._wanted:  # ended before its clip took it (`_claim`)
                self._ended_early[event_id] = t

    def cut(self, t: float) -> None:
        """Recording stops now (the device was disarmed): the open clip ends with the fragment
        under way at frame time `t`, with no post-roll after it. An event that began before `t`
        but whose clip the recording thread has not opened yet (the alert and the disarm came
        within a frame or two) still gets its clip, up to the cut; any other waiting event none,
        and its alert is told so (`on_no_clip`: its `end` does not wait for a clip)."""
        with self._lock:
            self._cut_at = self._last_cut = t
            dropped = self._drop([e for e, (at, _) in self._wanted.items() if at > t])
        if dropped:
            self.on_no_clip(dropped)

    def resume(self) -> None:
        """Recording is on again (re-armed): a cut not yet spent is dropped, and an event begun
        before it but heard of now (dated back to its first frames) is recorded, not cut at
        that old disarm."""
        with self._lock:
            self._cut_at = self._last_cut = None

    # -- the recording thread ---------------------------------------------------------------------
    def push(self, fragments: list[Fragment], wall_offset: float) -> None:
        """What the stream completed with the latest frame; then new events get their clip."""
        self._wall_offset = wall_offset
        for fragment in fragments:
            self._append(fragment)
        if self.stream is None or not self.stream.ring:
            return  # nothing to cut a clip from yet: new events wait for the first fragment
        with self._lock:
            wanted = list(self._wanted.items())
        for event_id, (t, wall) in wanted:
            self._join_or_open(event_id, t, wall)

    def close(self) -> None:
        """Finish the open clip with what has been encoded (SIGTERM)."""
        if self.stream is not None:
            for fragment in self.stream.close():
                self._append(fragment, check=False)
            self.stream = None
        self._finish()

    def _claim(self, event_id: str) -> float | None:
        """Under the lock: the waiting event leaves `_wanted` as it joins a clip, with its end if
        it came already. An end from another thread finds the event in `_wanted` until this
        moment and in the clip after it (it was lost in between once, when `push` emptied
        `_wanted` before opening the clip: a ring's clip then ran to `max_seconds`)."""
        self._wanted.pop(event_id, None)
        return self._ended_early.pop(event_id, None)

    def _join_or_open(self, event_id: str, t: float, wall: float) -> None:
        with self._lock:
            if event_id not in self._wanted:
                return  # a cut since `push` looked dropped it: no clip (`cut` said so)
            open_clip = self._open  # (set only on this thread)
            if open_clip is not None:
                open_clip.events[event_id] = self._claim(event_id)
        if open_clip is not None:
            try:
                self.index.link_event(open_clip.clip_id, event_id)
            except OSError as exc:  # the clip goes on; its event row does not name it
                self.disk.full(exc, t)
            return
        assert self.stream is not None
        ring = list(self.stream.ring)
        # From the keyframe at or before t - pre_seconds (or the oldest the ring still has).
        first = 0
        for i, fragment in enumerate(ring):
            if fragment.first_t <= t - self.record.pre_seconds:
                first = i
        start_wall = wall - (t - ring[first].first_t)
        self._start_clip(event_id, [event_id], ring[first], start_wall)
        if self._open is not None:
            for fragment in ring[first:]:
                self._append(fragment, check=False)

    def _start_clip(
        self,
        clip_id: str,
        event_ids: list[str],
        first: Fragment,
        start_wall: float,
        segment: bool = False,
    ) -> None:
        """Open `clips/<clip_id>.mp4` from `first` for these waiting events and index it (it is
        then `_open`). None on a full disk (the events are told no clip comes), or when a cut
        dropped every event meanwhile (the cut told them)."""
        if not self.disk.may_write(first.first_t):
            self._no_clip(event_ids)
            return
        assert self.stream is not None
        path = self.files.clip(clip_id)
        try:
            clip = ClipFile(path, self.stream.init_segment, first)
        except OSError as exc:
            self.disk.full(exc, first.first_t)
            self._no_clip(event_ids)
            return
        try:
            self.index.add_clip(clip_id, event_ids, self.files.relative(path), start_wall)
        except OSError as exc:  # the index is on the same full disk
            clip.abandon()
            self.disk.full(exc, first.first_t)
            self._no_clip(event_ids)
            return
        with self._lock:
            events = {e: self._claim(e) for e in event_ids if e in self._wanted}
            dropped = bool(event_ids) and not events  # by a cut, while the file was opened
            if not dropped:
                self._open = _OpenClip(clip, clip_id, events, start_wall, segment)
        if dropped:
            clip.abandon()
            self._forget(clip_id)
            return
        self.disk.wrote()

    def _no_clip(self, event_ids: list[str]) -> None:
        """No clip for these events after all: those still waiting are told (a cut that dropped
        the others told them)."""
        with self._lock:
            waiting = self._drop(event_ids)
        if waiting:
            self.on_no_clip(waiting)

    def _drop(self, event_ids: list[str]) -> list[str]:
        """Under the lock: those of these events still waiting stop waiting, with no clip."""
        waiting = [e for e in event_ids if e in self._wanted]
        for event_id in waiting:
            self._claim(event_id)
        return waiting

    def _append(self, fragment: Fragment, check: bool = True) -> None:
        with self._lock:
            cut_at = self._cut_at
            # A cut is spent once no event from before it waits for its clip and the open clip
            # (if any) is cut. While one waits, it stays: that clip, opened later from the
            # pre-roll ring, ends at the cut too: nothing is recorded after a disarm, and the
            # event's own end may be long in coming.
            if cut_at is not None:
                waiting = any(at <= cut_at for at, _ in self._wanted.values())
                if not waiting and (self._open is None or fragment.first_t >= cut_at):
                    self._cut_at = None
        if cut_at is not None and fragment.first_t >= cut_at:
            self._finish()  # before this fragment: it was recorded after the cut
            return
        if self._open is None and self.continuous and check:
            # Continuous mode: the next segment starts with this fragment (no gap, no overlap).
            start_wall = fragment.first_t + self._wall_offset
            self._start_clip(f"segment-{uuid.uuid4()}", [], fragment, start_wall, segment=True)
        open_clip = self._open
        if open_clip is None:
            return
        try:
            open_clip.file.append(fragment)
        except OSError as exc:
            self._abandon(exc, fragment.first_t)
            return
        if check and self._done(open_clip, fragment):
            self._finish()

    def _done(self, open_clip: _OpenClip, fragment: Fragment) -> bool:
        with self._lock:
            ends = list(open_clip.events.values())
        end_of_fragment = fragment.first_t + fragment.frames / self.fps
        length = end_of_fragment - open_clip.file.first_t
        all_ended = all(end is not None for end in ends)
        last_end = max((e for e in ends if e is not None), default=0.0)
        events_done = all_ended and end_of_fragment >= last_end + self.record.post_seconds
        if open_clip.segment:  # on the clock; or, once turned off, like an event clip
            return length >= self.record.segment_minutes * 60 or (
                not self.continuous and events_done
            )
        return events_done or length >= self.record.max_seconds

    def drop_open(self, exc: OSError, t: float) -> None:
        """A write failed where none was expected to: the open clip (if any) goes, the disk is
        taken as full."""
        if self._open is not None:
            self._abandon(exc, t)
        else:
            self.disk.full(exc, t)

    def _abandon(self, exc: OSError | None, t: float) -> None:
        """The open clip and its row go, its events told no clip comes: a write failed (`exc`:
        the disk is full), or it holds no frame."""
        open_clip, self._open = self._open, None
        assert open_clip is not None
        open_clip.file.abandon()
        self._forget(open_clip.clip_id)
        if exc is not None:
            self.disk.full(exc, t)
        self.on_no_clip(list(open_clip.events))

    def _forget(self, clip_id: str) -> None:
        # a row without a file is left to repair at the next start
        with contextlib.suppress(OSError):
            self.index.delete_clip(clip_id)

    def _finish(self) -> None:
        open_clip = self._open
        if open_clip is None:
            return
        clip = open_clip.file
        if not clip.frames:  # cut before its first fragment: nothing to keep, nothing to name
            self._abandon(None, clip.first_t)
            return
        try:
            sha256 = clip.finish()
        except OSError as exc:
            self._abandon(exc, clip.first_t + clip.frames / self.fps)
            return
        self._open = None
        seconds = clip.frames / self.fps
        path, size = clip.path, clip.bytes
        try:
            if self.at_rest.enabled:
                path, size, sha256 = self.at_rest.seal(path)
            self.index.finish_clip(
                open_clip.clip_id,
                self.files.relative(path),
                open_clip.start_wall + seconds,
                seconds,
                clip.frames,
                size,
                sha256,
            )
        except OSError as exc:  # not indexed, so not kept: the index lists every clip there is
            sealing = clip.path.with_name(clip.path.name + ".age.partial")
            for leftover in {clip.path, path, sealing}:
                leftover.unlink(missing_ok=True)
            self._forget(open_clip.clip_id)
            self.disk.full(exc, clip.first_t + seconds)
            self.on_no_clip(list(open_clip.events))
            return
        self.clips_written += 1
        self.on_clip(
            ClipInfo(
                tuple(open_clip.events), path, clip.first_t, seconds, clip.frames, size, sha256
            )
        )
