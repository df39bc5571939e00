"""A library scene scored: the detector (ours, or a baseline) and the event tracker over its
frames, beside the scene's ground truth, for `motion.scoring.score`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from doorbell.config.motion import MotionConfig
from doorbell.device.emulation.scenarios import load_scenario
from doorbell.motion.detector import MotionDetector
from doorbell.motion.events import EventTracker
from doorbell.motion.scoring import Span


def scenario_spans(
    name: str, make_detector: Callable[[MotionConfig, tuple[int, int]], Any] | None = None
) -> tuple[list[Span], list[Span]]:
    """Run a detector (ours by default) and the event tracker over a library scenario: returns
    (truth spans, detected spans) in frames, for `motion.scoring.score`."""
    scenario = load_scenario(name)
    assert scenario.frame_count is not None, f"{name} is endless"
    cfg = MotionConfig()
    make = make_detector or MotionDetector
    detector, tracker = make(cfg, scenario.lores_size), EventTracker(cfg)
    spans = []
    for seq in range(scenario.frame_count):
        _, lores = scenario.render(seq)
        for update in tracker.update(detector.process(lores, seq / scenario.fps), seq):
            if update.kind == "end":
                spans.append(Span(update.event.start_seq, update.event.end_seq))
    spans += [Span(u.event.start_seq, u.event.end_seq) for u in tracker.flush()]
    truth = [Span(a.start_frame, a.end_frame) for a in scenario.truth.alerts]
    return truth, spans
