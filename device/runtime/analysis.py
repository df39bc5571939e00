"""Running the detector over a whole recording as fast as possible (`doorbell analyze`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from doorbell.config.motion import MotionConfig
from doorbell.device.runtime.frame import Frame
from doorbell.device.sources.base import Source
from doorbell.motion.detector import MotionDetector
from doorbell.motion.events import EventTracker
from doorbell.motion.types import MotionEvent, MotionResult


@dataclass
class Analysis:
    fps: float
    width: int
    height: int
    frames: int = 0
    events: list[MotionEvent] = field(default_factory=list)
    stationary: list[MotionEvent] = field(default_factory=list)
    motion_frames: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    thresholds: list[float] = field(default_factory=list)

    def to_json(self, source: str, config: MotionConfig) -> dict[str, object]:
        return {
            "source": source,
            "fps": self.fps,
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
            "config": config.model_dump(mode="json"),
            "events": [
                {
                    "start_frame": e.start_seq,
                    "end_frame": e.end_seq,
                    "start_s": round(e.start_t, 3),
                    "end_s": round(e.end_t, 3),
                    "peak_score": round(e.peak_score, 3),
                    "box": e.box.as_list() if e.box else None,
                    "zones": sorted(e.zones),
                }
                for e in self.events
            ],
            "motion_frames": self.motion_frames,
        }


def analyze(
    source: Source,
    cfg: MotionConfig,
    on_frame: Callable[[Frame, MotionResult, EventTracker], None] | None = None,
    duration: float | None = None,
) -> Analysis:
    """Read every frame of an opened source (or `duration` seconds of it) through the detector."""
    detector = MotionDetector(cfg, source.lores_size)
    tracker = EventTracker(cfg)
    result = Analysis(source.fps, source.width, source.height)
    while (frame := source.read()) is not None:
        if duration is not None and frame.t >= duration:
            break
        motion = detector.process(frame.lores, frame.t)
        for update in tracker.update(motion, frame.seq):
            if update.kind == "end":
                result.events.append(update.event)
            elif update.kind == "stationary":
                result.stationary.append(update.event)
        result.frames += 1
        result.scores.append(motion.score)
        result.thresholds.append(motion.threshold)
        if motion.motion:
            result.motion_frames.append(frame.seq)
        if on_frame is not None:
            on_frame(frame, motion, tracker)
    result.events.extend(u.event for u in tracker.flush())
    return result
