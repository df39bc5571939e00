"""Turning per-frame motion into events: idle -> active -> (gap) -> idle."""

from __future__ import annotations

from config.motion import MotionConfig
from motion.types import EventUpdate, MotionEvent, MotionResult


class EventTracker:
    """Fires after `min_frames` motion frames in a row; ends after `event_gap` seconds without."""

    def __init__(self, cfg: MotionConfig) -> None:
        self.cfg = cfg
        self._run: list[tuple[int, MotionResult]] = []
        self.active: MotionEvent | None = None

    def update(self, result: MotionResult, seq: int) -> list[EventUpdate]:
        updates: list[EventUpdate] = []
        event = self.active
        if event is not None:
            too_long = result.t - event.start_t >= self.cfg.max_event_seconds
            if result.t - event.end_t >= self.cfg.event_gap or too_long:
                updates.append(EventUpdate("end", event))
                self.active = event = None
        if not result.motion:
            self._run.clear()
            return updates
        if event is None:
            self._run.append((seq, result))
            if len(self._run) < self.cfg.min_frames:
                return updates
            first_seq, first = self._run[0]
            event = MotionEvent("motion", first.t, first_seq, result.t, seq)
            for run_seq, run_result in self._run:
                self._absorb(event, run_result, run_seq)
            self._run.clear()
            self.active = event
            updates.append(EventUpdate("start", event))
            return updates
        self._absorb(event, result, seq)
        return updates

    def flush(self) -> list[EventUpdate]:
        """End whatever is active (the stream ended)."""
        if self.active is None:
            return []
        event, self.active = self.active, None
        return [EventUpdate("end", event)]

    @staticmethod
    def _absorb(event: MotionEvent, result: MotionResult, seq: int) -> None:
        event.end_t, event.end_seq = result.t, seq
        event.zones.update(result.zones)
        for box in result.boxes:
            event.box = box if event.box is None else event.box.union(box)
        if result.score > event.peak_score:
            event.peak_score, event.peak_t, event.peak_seq = result.score, result.t, seq
            event.peak_boxes = result.boxes
