"""Floors on the whole scenario library at default settings: every visit found, no false alarm,
median onset latency at most 3 frames. benchmarks/motion_quality.py prints the real figures."""

from __future__ import annotations

import statistics

from doorbell.config.motion import MotionConfig
from doorbell.device.emulation.scenario_spans import scenario_spans
from doorbell.device.emulation.scenarios import list_scenarios, load_scenario
from doorbell.motion.detector import MotionDetector
from doorbell.motion.scoring import Score, Span, score


def detected(name: str) -> tuple[Score, list[Span]]:
    truth, spans = scenario_spans(name)
    return score(truth, spans), spans


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


def test_a_slow_pan_leaves_no_motion_once_the_walker_has_gone() -> None:
    # (issue 27) The background learned along the pan smears a thin bright edge (a post): at
    # 320x240 it stayed motion until absorbed, and the event ran to the end of the scene.
    scenario = load_scenario("slow_pan")
    assert scenario.frame_count is not None
    (visit,) = scenario.truth.alerts
    detector = MotionDetector(MotionConfig(), scenario.lores_size)
    moving = [
        seq
        for seq in range(scenario.frame_count)
        if detector.process(scenario.render(seq)[1], seq / scenario.fps).motion
    ]
    assert moving and moving[0] <= visit.start_frame + 5
    assert max(moving) <= visit.end_frame
