"""Open alerts: ids, their clips, and the MQTT messages at start and at end.

An alert is published twice on `event`: at `start` (that is the alert) and at `end`, once both the
event is over and its clip is complete, so the end message can name the clip. A motion alert's
start may be held until the classifier labels it (`release`), and one whose label the mode does
not alert on is never published at all; the vote over its classified frames is kept here, so the
`end` carries the final label. A possible package's alert shows the clip of the motion event
that put it down (its `start`) and of the one that took it (its `end` waits for that clip):
`follow_clip`.
Called from the analysis thread, the recording thread and the button, hence the lock.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from doorbell.config.device import EventLabel
from doorbell.device.classify.labels import UNKNOWN, FrameLabels, Verdict, vote
from doorbell.device.recording.clip import ClipInfo
from doorbell.uplink.messages import ClipRef, EventMessage, iso_utc

log = logging.getLogger(__name__)

Kind = Literal["motion", "ring", "package"]
Publish = Callable[[EventMessage], None]
RECENT_CLIPS = 32  # clips of closed alerts kept for a package's start (its delivery, ~30 s ago)


@dataclass
class Alert:
    id: str
    type: Kind
    start_wall: float
    end_wall: float | None = None
    score: float = 0.0
    boxes: list[list[float]] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    clip: ClipRef | None = None
    ended: bool = False
    clip_pending: bool = False
    # False while the start waits for a label (`hold`), and for good when the label kept it
    # quiet: such an alert publishes neither its start nor its end.
    published: bool = True
    frames: list[FrameLabels] = field(default_factory=list)  # classified frames, for the vote
    verdict: Verdict = UNKNOWN
    motion_event: str | None = None  # a package's: the motion whose clip `clip` is


class Alerts:
    def __init__(self, device_id: str, publish: Publish, data_dir: Path) -> None:
        self.device_id = device_id
        self.publish = publish
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._open: dict[str, Alert] = {}
        self.count = 0
        self.clips = 0
        self._recent: OrderedDict[str, ClipRef] = OrderedDict()  # event id -> its clip
        self._followers: dict[str, list[str]] = {}  # motion event id -> packages awaiting its clip

    def start(
        self,
        kind: Kind,
        start_wall: float,
        *,
        score: float = 0.0,
        boxes: list[list[float]] | None = None,
        zones: list[str] | None = None,
        recording: bool,
        hold: bool = False,
        verdict: Verdict = UNKNOWN,
        motion_event: str | None = None,
    ) -> Alert:
        """Open an alert and publish its start, or with `hold` publish nothing yet (`release`
        sends the start once its label is known). `verdict`: its label, when known already.
        `motion_event`: a package's delivery, whose clip goes with the start if it is complete."""
        alert = Alert(
            id=str(uuid.uuid4()),
            type=kind,
            start_wall=start_wall,
            score=round(score, 2),
            boxes=boxes or [],
            zones=zones or [],
            clip_pending=recording,
            published=not hold,
            verdict=verdict,
            motion_event=motion_event,
        )
        with self._lock:
            if motion_event is not None:
                alert.clip = self._recent.get(motion_event)
            self._open[alert.id] = alert
            self.count += not hold  # counted when raised: a held one when released
        if not hold:
            self.publish(self._message(alert, "start"))
        return alert

    def release(self, alert_id: str) -> None:
        """Publish the start of a held alert, with the label known now."""
        with self._lock:
            alert = self._open.get(alert_id)
            if alert is None or alert.published:
                return
            alert.published = True
            self.count += 1
            message = self._message(alert, "start")
        self.publish(message)

    def label_of(self, alert_id: str) -> EventLabel:
        """An open alert's label by the vote so far (`unknown` before any classified frame)."""
        with self._lock:
            alert = self._open.get(alert_id)
            return "unknown" if alert is None else alert.verdict.label

    def add_labels(self, alert_id: str, frame: FrameLabels, min_score: float) -> Verdict | None:
        """One more classified frame of an open alert: its vote so far (None: already closed)."""
        with self._lock:
            alert = self._open.get(alert_id)
            if alert is None:
                return None
            alert.frames.append(frame)
            alert.verdict = vote(alert.frames, min_score)
            return alert.verdict

    def follow_clip(self, alert_id: str, motion_event: str | None) -> None:
        """A package's `end` shows the clip of `motion_event` (whoever took it), waiting for it
        if it is still being written; None: no motion was seen taking it, no clip."""
        with self._lock:
            alert = self._open.get(alert_id)
            if alert is None:
                return
            alert.motion_event, alert.clip = motion_event, None
            if motion_event is None:
                return
            alert.clip = self._recent.get(motion_event)
            motion = self._open.get(motion_event)
            if alert.clip is None and motion is not None and motion.clip_pending:
                alert.clip_pending = True
                self._followers.setdefault(motion_event, []).append(alert_id)

    def end(
        self,
        alert_id: str,
        end_wall: float,
        *,
        score: float | None = None,
        boxes: list[list[float]] | None = None,
        zones: list[str] | None = None,
    ) -> None:
        with self._lock:
            alert = self._open.get(alert_id)
            if alert is None:
                return
            alert.end_wall = end_wall
            if score is not None:
                alert.score = round(score, 2)
            if boxes is not None:
                alert.boxes = boxes
            if zones is not None:
                alert.zones = zones
            alert.ended = True
            done = not alert.clip_pending
            if done:
                del self._open[alert_id]
        if done and alert.published:
            self.publish(self._message(alert, "end"))

    def clip_done(self, clip: ClipInfo) -> None:
        for event_id in clip.event_ids or (None,):  # a continuous segment may hold no event
            log.info(
                "clip %s: %.1f s, %d bytes",
                clip.path.name,
                clip.seconds,
                clip.bytes,
                extra={"event_id": event_id} if event_id else {},
            )
        ref = ClipRef(
            file=str(clip.path.relative_to(self.data_dir)),
            seconds=round(clip.seconds, 3),
            bytes=clip.bytes,
            sha256=clip.sha256,
        )
        finished = []
        with self._lock:
            self.clips += 1
            for event_id in clip.event_ids:
                alert = self._open.get(event_id)
                if alert is None or not alert.clip_pending:
                    continue  # continuous segments are not an alert's clip (`clip` null)
                self._recent[event_id] = ref
                while len(self._recent) > RECENT_CLIPS:
                    self._recent.popitem(last=False)
            followers = [f for e in clip.event_ids for f in self._followers.pop(e, [])]
            for alert_id in [*clip.event_ids, *followers]:
                alert = self._open.get(alert_id)
                if alert is None or (alert_id in followers and not alert.clip_pending):
                    continue
                alert.clip, alert.clip_pending = ref, False
                if alert.ended:
                    finished.append(self._open.pop(alert_id))
        for alert in finished:
            if alert.published:
                self.publish(self._message(alert, "end"))

    def no_clip(self, event_ids: list[str]) -> None:
        """No clip will come for these events (the disk is full, or a disarm's cut dropped
        them): each `end` goes without one, when its event is over, instead of waiting for
        shutdown; never the `end` of an alert whose `start` was not sent (kept quiet by its
        label). Any thread."""
        finished = []
        with self._lock:
            followers = [f for e in event_ids for f in self._followers.pop(e, [])]
            for alert_id in [*event_ids, *followers]:
                alert = self._open.get(alert_id)
                if alert is None or not alert.clip_pending:
                    continue
                alert.clip_pending = False
                if alert.ended:
                    finished.append(self._open.pop(alert_id))
        for alert in finished:
            if alert.published:
                self.publish(self._message(alert, "end"))

    def forget(self, alert_id: str) -> None:
        """Close an alert without an `end` (a package still there at shutdown is not gone)."""
        with self._lock:
            self._open.pop(alert_id, None)

    def flush(self) -> None:
        """At shutdown: publish `end` for whatever is still open, with what is known."""
        with self._lock:
            leftovers, self._open = list(self._open.values()), {}
        for alert in leftovers:
            if alert.published:
                self.publish(self._message(alert, "end"))

    def end_after_crash(self, alert: Alert) -> None:
        """The `end` of an alert a crash left open, rebuilt from the index (device.recovery)."""
        self.publish(self._message(alert, "end"))

    def _message(self, alert: Alert, state: Literal["start", "end"]) -> EventMessage:
        return EventMessage(
            id=alert.id,
            device=self.device_id,
            type=alert.type,
            state=state,
            start=iso_utc(alert.start_wall),
            end=iso_utc(alert.end_wall) if alert.end_wall is not None else None,
            score=alert.score,
            boxes=alert.boxes,
            zones=alert.zones,
            clip=alert.clip,
            label=alert.verdict.label,
            labels=alert.verdict.labels,
            motion_event=alert.motion_event,
        )
