"""Floors on the whole scenario library at default settings: every visit found, no false alarm,
median onset latency at most 3 frames. benchmarks/motion_quality.py prints the real figures."""

from __future__ import annotations

import statistics

from config.motion import MotionConfig
from device.scenarios import list_scenarios, load_scenario
from motion.detector import MotionDetector
from motion.events import EventTracker
from motion.scoring import Score, Span, score


def detected(name: str) -> tuple[Score, list[Span]]:
    s = load_scenario(name)
    cfg = MotionConfig()
    detector, tracker = MotionDetector(cfg, s.lores_size), EventTracker(cfg)
    spans = []
    assert s.frame_count is not None
    for seq in range(s.frame_count):
        _, lores = s.render(seq)
        for update in tracker.update(detector.process(lores, seq / s.fps), seq):
            if update.kind == "end":
                spans.append(Span(update.event.start_seq, update.event.end_seq))
    spans += [Span(u.event.start_seq, u.event.end_seq) for u in tracker.flush()]
    return score([Span(a.start_frame, a.end_frame) for a in s.truth.alerts], spans), spans


def test_library_floors_at_default_settings() -> None:
    latencies: list[int] = []
    problems = []
    for name in list_scenarios():
        if load_scenario(name).kind == "demo":
            continue
        result, spans = detected(name)
        if result.found < result.expected:
            problems.append(f"{name}: missed {result.expected - result.found} visit(s)")
        if result.false_alarms:
            problems.append(f"{name}: {result.false_alarms} false alarm(s) {spans}")
        latencies += result.latencies
    assert problems == []
    assert len(latencies) >= 5
    assert statistics.median(latencies) <= 3
