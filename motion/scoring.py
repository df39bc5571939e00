"""Scoring detected events against a scenario's ground truth."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    start: int  # first frame
    end: int  # last frame, inclusive
    fired: int | None = None  # detections: the frame the alert went out (start + min_frames - 1)

    def overlaps(self, other: Span) -> bool:
        return self.start <= other.end and other.start <= self.end


@dataclass
class Score:
    expected: int = 0
    found: int = 0
    detected: int = 0
    false_alarms: int = 0
    latencies: list[int] = field(default_factory=list)  # frames, truth start -> detection start
    alert_latencies: list[int] = field(default_factory=list)  # truth start -> alert sent

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return (self.detected - self.false_alarms) / self.detected if self.detected else 1.0

    @property
    def median_latency(self) -> float | None:
        return statistics.median(self.latencies) if self.latencies else None

    @property
    def median_alert_latency(self) -> float | None:
        return statistics.median(self.alert_latencies) if self.alert_latencies else None

    def add(self, other: Score) -> None:
        self.expected += other.expected
        self.found += other.found
        self.detected += other.detected
        self.false_alarms += other.false_alarms
        self.latencies += other.latencies
        self.alert_latencies += other.alert_latencies


def score(truth: list[Span], detected: list[Span]) -> Score:
    """An expected event is found if a detection overlaps it; a detection overlapping none is a
    false alarm; latency counts frames from the truth's start to the first overlapping start
    (and alert latency to when that detection fired)."""
    result = Score(expected=len(truth), detected=len(detected))
    for expected in truth:
        hits = [d for d in detected if d.overlaps(expected)]
        if hits:
            result.found += 1
            first = min(hits, key=lambda d: d.start)
            result.latencies.append(first.start - expected.start)
            fired = first.start if first.fired is None else first.fired
            result.alert_latencies.append(fired - expected.start)
    result.false_alarms = sum(1 for d in detected if not any(d.overlaps(e) for e in truth))
    return result
