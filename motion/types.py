"""What a detector is, what it returns and what an event is: plain data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in normalised coordinates (0..1 of the frame's width and height)."""

    x: float
    y: float
    w: float
    h: float

    def union(self, other: Box) -> Box:
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.w, other.x + other.w)
        y1 = max(self.y + self.h, other.y + other.h)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def overlaps(self, other: Box, margin: float = 0.0) -> bool:
        """Whether the two share any area, or come within `margin` of each other."""
        return (
            self.x - margin < other.x + other.w
            and other.x - margin < self.x + self.w
            and self.y - margin < other.y + other.h
            and other.y - margin < self.y + self.h
        )

    def as_list(self) -> list[float]:
        return [round(self.x, 4), round(self.y, 4), round(self.w, 4), round(self.h, 4)]


@dataclass(frozen=True, slots=True)
class MotionResult:
    """One analysed frame. `score`: changed area in percent of the zone that changed most."""

    t: float
    score: float
    motion: bool
    threshold: float
    boxes: tuple[Box, ...] = ()
    zones: tuple[str, ...] = ()
    lighting: bool = False  # this frame's light changed (and was compensated)
    stationary: tuple[Box, ...] = ()  # regions absorbed into the background this frame


@dataclass
class MotionEvent:
    """A stretch of motion from its first motion frame to its last (times are frame times)."""

    kind: Literal["motion", "stationary"]
    start_t: float
    start_seq: int
    end_t: float
    end_seq: int
    peak_score: float = 0.0
    peak_t: float = 0.0
    peak_seq: int = 0
    box: Box | None = None
    peak_boxes: tuple[Box, ...] = ()
    zones: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class EventUpdate:
    """`start` when an event fires, `end` when it is over (the same MotionEvent both times);
    `stationary` once when something that arrived has stayed and become background."""

    kind: Literal["start", "end", "stationary"]
    event: MotionEvent


class Detector(Protocol):
    """Lores luma frames and their times in, one MotionResult per frame out: ours
    (motion.detector.MotionDetector) and the baselines (motion.baselines) alike."""

    def process(self, luma: np.ndarray, t: float) -> MotionResult: ...

    def reset(self) -> None:
        """Forget the scene (the camera was pointed elsewhere)."""
        ...
