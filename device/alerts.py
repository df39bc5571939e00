"""Turns motion events and button presses into alerts: ids, clips, snapshots and MQTT messages."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from device.recording.clip_recorder import ClipInfo
from motion.types import MotionEvent
from uplink.messages import ClipRef, EventMessage, iso_utc

log = logging.getLogger(__name__)

Publish = Callable[[EventMessage], None]


@dataclass
class Alert:
    id: str
    type: Literal["motion", "ring"]
    start_wall: float
    end_wall: float | None = None
    score: float = 0.0
    boxes: list[list[float]] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    clip: ClipRef | None = None
    ended: bool = False
    clip_pending: bool = False


class Alerts:
    """Tracks open alerts; publishes `start` at once and `end` when the event and its clip are done.

    Called from the analysis thread (events) and the recording thread (clips), hence the lock.
    """

    def __init__(self, device_id: str, publish: Publish, data_dir: Path) -> None:
        self.device_id = device_id
        self.publish = publish
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._open: dict[str, Alert] = {}
        self._by_event: dict[int, str] = {}
        self.count = 0
        self.clips = 0

    def motion_started(self, event: MotionEvent, wall_offset: float, recording: bool) -> Alert:
        alert = Alert(
            id=str(uuid.uuid4()),
            type="motion",
            start_wall=wall_offset + event.start_t,
            score=round(event.peak_score, 2),
            boxes=[b.as_list() for b in event.peak_boxes],
            zones=sorted(event.zones),
            clip_pending=recording,
        )
        with self._lock:
            self._open[alert.id] = alert
            self._by_event[id(event)] = alert.id
            self.count += 1
        self.publish(self._message(alert, "start"))
        return alert

    def motion_ended(self, event: MotionEvent, wall_offset: float) -> str | None:
        with self._lock:
            alert_id = self._by_event.pop(id(event), None)
            alert = self._open.get(alert_id) if alert_id else None
            if alert is None:
                return None
            alert.end_wall = wall_offset + event.end_t
            alert.score = round(event.peak_score, 2)
            alert.boxes = [b.as_list() for b in event.peak_boxes]
            alert.zones = sorted(event.zones)
            alert.ended = True
            done = not alert.clip_pending
            if done:
                del self._open[alert.id]
        if done:
            self.publish(self._message(alert, "end"))
        return alert.id

    def clip_done(self, clip: ClipInfo) -> None:
        ref = ClipRef(
            file=str(clip.path.relative_to(self.data_dir)),
            seconds=round(clip.seconds, 3),
            bytes=clip.bytes,
            sha256=clip.sha256,
        )
        finished = []
        with self._lock:
            self.clips += 1
            for alert_id in clip.event_ids:
                alert = self._open.get(alert_id)
                if alert is None:
                    continue
                alert.clip, alert.clip_pending = ref, False
                if alert.ended:
                    finished.append(self._open.pop(alert_id))
        for alert in finished:
            self.publish(self._message(alert, "end"))

    def flush(self) -> None:
        """At shutdown: publish `end` for whatever is still open, with what is known."""
        with self._lock:
            leftovers, self._open = list(self._open.values()), {}
        for alert in leftovers:
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
        )
