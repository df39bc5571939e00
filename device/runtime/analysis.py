"""Running the detector over a whole recording as fast as possible (`doorbell analyze`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from doorbell.config.classify import ClassifyConfig
from doorbell.config.motion import MotionConfig
from doorbell.device.classify.classifier import Classifier
from doorbell.device.classify.labels import UNKNOWN, FrameLabels, Verdict, vote
from doorbell.device.runtime.classify_stage import due
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
    verdicts: dict[int, Verdict] = field(default_factory=dict)  # event's start frame -> label

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
                    "label": self.verdicts.get(e.start_seq, UNKNOWN).label,
                    "labels": self.verdicts.get(e.start_seq, UNKNOWN).labels,
                }
                for e in self.events
            ],
            "motion_frames": self.motion_frames,
        }


class EventLabeller:
    """Labels a recording's events as the device does: the same frames, crops and vote."""

    def __init__(self, classifier: Classifier, cfg: ClassifyConfig) -> None:
        self.classifier, self.cfg = classifier, cfg
        self._frames: dict[int, list[FrameLabels]] = {}  # event's start frame -> its frames
        self._last_t: dict[int, float] = {}

    def see(self, event: MotionEvent | None, frame: Frame, motion: MotionResult) -> None:
        if event is None or not motion.boxes:
            return
        key = event.start_seq
        new_peak = event.peak_seq == frame.seq
        if due(self._last_t.get(key), frame.t, new_peak, self.cfg.every_seconds):
            self._last_t[key] = frame.t
            labels = self.classifier.classify(frame.seq, frame.main, motion.boxes)
            self._frames.setdefault(key, []).append(labels)

    def so_far(self, event: MotionEvent | None) -> Verdict:
        """The open event's label by the frames classified up to now."""
        if event is None:
            return UNKNOWN
        return vote(self._frames.get(event.start_seq, []), self.cfg.min_score)

    def verdict(self, event: MotionEvent) -> Verdict:
        self._last_t.pop(event.start_seq, None)
        return vote(self._frames.pop(event.start_seq, []), self.cfg.min_score)


def analyze(
    source: Source,
    cfg: MotionConfig,
    on_frame: Callable[[Frame, MotionResult, EventTracker], None] | None = None,
    duration: float | None = None,
    labeller: EventLabeller | None = None,
) -> Analysis:
    """Read every frame of an opened source (or `duration` seconds of it) through the detector;
    with a `labeller`, each event gets its label as on the device."""
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
                if labeller is not None:
                    result.verdicts[update.event.start_seq] = labeller.verdict(update.event)
            elif update.kind == "stationary":
                result.stationary.append(update.event)
        if labeller is not None:
            labeller.see(tracker.active, frame, motion)
        result.frames += 1
        result.scores.append(motion.score)
        result.thresholds.append(motion.threshold)
        if motion.motion:
            result.motion_frames.append(frame.seq)
        if on_frame is not None:
            on_frame(frame, motion, tracker)
    for update in tracker.flush():
        result.events.append(update.event)
        if labeller is not None:
            result.verdicts[update.event.start_seq] = labeller.verdict(update.event)
    return result
