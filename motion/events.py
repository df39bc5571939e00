"""Turning per-frame motion into events: idle -> active -> cooldown -> idle.

`min_frames` motion frames in a row start an event (its start is the first of them). Frames
without motion put it in cooldown; motion within `event_gap` seconds resumes it, otherwise it
ends at its last motion frame. An event longer than `max_event_seconds` is split. Something
absorbed into the background is reported once, as a `stationary` event of its own.
"""

from __future__ import annotations

from typing import Literal

from doorbell.config.motion import MotionConfig
from doorbell.motion.types import EventUpdate, MotionEvent, MotionResult

State = Literal["idle", "active", "cooldown"]


class EventTracker:
    def __init__(self, cfg: MotionConfig) -> None:
        self.cfg = cfg
        self._run: list[tuple[int, MotionResult]] = []
        self.active: MotionEvent | None = None
        self.state: State = "idle"

    def update(self, result: MotionResult, seq: int) -> list[EventUpdate]:
        updates = [self._stationary(result, seq)] if result.stationary else []
        event = self.active
        if event is not None:
            quiet_for = result.t - event.end_t
            too_long = result.t - event.start_t >= self.cfg.max_event_seconds
            if (not result.motion and quiet_for >= self.cfg.event_gap) or too_long:
                updates.append(EventUpdate("end", event))
                self.active = event = None
                self.state = "idle"
        if not result.motion:
            self._run.clear()
            if event is not None:
                self.state = "cooldown"
            return updates
        if event is not None:
            self.state = "active"
            self._absorb(event, result, seq)
            return updates
        self._run.append((seq, result))
        if len(self._run) < self.cfg.min_frames:
            return updates
        first_seq, first = self._run[0]
        event = MotionEvent("motion", first.t, first_seq, first.t, first_seq)
        for run_seq, run_result in self._run:
            self._absorb(event, run_result, run_seq)
        self._run.clear()
        self.active, self.state = event, "active"
        updates.append(EventUpdate("start", event))
        return updates

    def flush(self) -> list[EventUpdate]:
        """End whatever is active (the stream ended)."""
        if self.active is None:
            return []
        event, self.active, self.state = self.active, None, "idle"
        return [EventUpdate("end", event)]

    @staticmethod
    def _stationary(result: MotionResult, seq: int) -> EventUpdate:
        event = MotionEvent("stationary", result.t, seq, result.t, seq)
        for box in result.stationary:
            event.box = box if event.box is None else event.box.union(box)
        event.peak_boxes = result.stationary
        return EventUpdate("stationary", event)

    @staticmethod
    def _absorb(event: MotionEvent, result: MotionResult, seq: int) -> None:
        event.end_t, event.end_seq = result.t, seq
        event.zones.update(result.zones)
        for box in result.boxes:
            event.box = box if event.box is None else event.box.union(box)
        if result.score > event.peak_score:
            event.peak_score, event.peak_t, event.peak_seq = result.score, result.t, seq
            event.peak_boxes = result.boxes
