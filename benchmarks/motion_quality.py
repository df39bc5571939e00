"""Detection quality on the scenario library: ours beside two baselines, same frames (issue 4).

For each scenario and in total: precision, recall and median onset latency (frames from the
truth's start to the detection's start; negative = before the visitor is a fifth of the frame
tall) for
  - ours (MotionDetector + EventTracker at default settings),
  - picamera2's example score (mean squared difference of consecutive frames > 7, uint8 wrap
    fixed), through the same EventTracker,
  - OpenCV MOG2 with an area threshold (1 % of the frame), through the same EventTracker.

`--sweep` then varies one setting of ours at a time around the defaults and prints, per value,
visits found, false alarms and median latency over the library: how the defaults were chosen.
Each scenario is rendered once; every detector sees the same lores frames.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.motion import MotionConfig
from device.scenarios import list_scenarios, load_scenario
from motion.baselines import MeanSquaredDifference, SubtractorDetector
from motion.detector import MotionDetector
from motion.events import EventTracker
from motion.scoring import Score, Span, score

Make = Callable[[MotionConfig, tuple[int, int]], Any]

DETECTORS: dict[str, Make] = {
    "ours": lambda cfg, size: MotionDetector(cfg, size),
    "picamera2-msd": lambda cfg, size: MeanSquaredDifference(7.0),
    "mog2": lambda cfg, size: SubtractorDetector(cfg, size),
}

SWEEP: dict[str, list[Any]] = {
    "threshold": [15, 20, 25, 30, 40],
    "min_area": [0.25, 0.5, 1.0, 2.0],
    "min_frames": [2, 3, 4, 5],
    "noise_k": [3.0, 4.0, 5.0, 6.0],
    "learning_rate": [0.02, 0.05, 0.1],
    "settle_seconds": [0.3, 0.5, 0.7, 1.0],
    "min_sharpness": [0.0, 8.0, 13.0, 18.0],
    "lighting_residual": [2.0, 3.0, 5.0],
    "min_blob": [0.03, 0.1, 0.3],
}


class Clip:
    """A library scenario's lores frames and truth, rendered once."""

    def __init__(self, name: str) -> None:
        scenario = load_scenario(name)
        assert scenario.frame_count is not None, f"{name} is endless"
        self.name, self.kind, self.fps = name, scenario.kind, scenario.fps
        self.size = scenario.lores_size
        self.frames: list[np.ndarray] = [
            scenario.render(seq)[1] for seq in range(scenario.frame_count)
        ]
        self.truth = [Span(a.start_frame, a.end_frame) for a in scenario.truth.alerts]

    def run(self, make: Make, cfg: MotionConfig) -> Score:
        detector, tracker = make(cfg, self.size), EventTracker(cfg)
        spans, fired = [], {}
        for seq, lores in enumerate(self.frames):
            for update in tracker.update(detector.process(lores, seq / self.fps), seq):
                if update.kind == "start":
                    fired[id(update.event)] = seq
                elif update.kind == "end":
                    event = update.event
                    spans.append(Span(event.start_seq, event.end_seq, fired[id(event)]))
        for update in tracker.flush():
            event = update.event
            spans.append(Span(event.start_seq, event.end_seq, fired[id(event)]))
        return score(self.truth, spans)


def _frames(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def fmt(s: Score) -> str:
    lat, alert = _frames(s.median_latency), _frames(s.median_alert_latency)
    return f"P {s.precision:4.2f} R {s.recall:4.2f} lat {lat:>4}/{alert:>4} FA {s.false_alarms:2d}"


def compare(clips: list[Clip]) -> None:
    totals = {key: Score() for key in DETECTORS}
    print("P precision, R recall, lat: median frames from the truth's start to the event's start")
    print("/ to the alert (min_frames later), FA false alarms; 15 fps")
    print(f"{'scenario':<16} {'kind':<12} " + "  ".join(f"{k:<33}" for k in DETECTORS))
    for clip in clips:
        cells = []
        for key, make in DETECTORS.items():
            result = clip.run(make, MotionConfig())
            totals[key].add(result)
            cells.append(f"{fmt(result):<33}")
        print(f"{clip.name:<16} {clip.kind:<12} " + "  ".join(cells))
    print(f"{'TOTAL':<16} {'':<12} " + "  ".join(f"{fmt(totals[k]):<33}" for k in DETECTORS))


def sweep(clips: list[Clip]) -> None:
    defaults = MotionConfig()
    print("\nours, one setting varied at a time (* = default):")
    print(f"{'setting':<18} {'value':>6}  {'found':>7}  {'false alarms':>12}  {'lat/alert':>10}")
    for key, values in SWEEP.items():
        for value in values:
            cfg = defaults.model_copy(update={key: value})
            total = Score()
            for clip in clips:
                total.add(clip.run(DETECTORS["ours"], cfg))
            mark = "*" if value == getattr(defaults, key) else " "
            latency = f"{_frames(total.median_latency)}/{_frames(total.median_alert_latency)}"
            print(
                f"{key:<18} {value:>6}{mark} {total.found:>3}/{total.expected:<3}  "
                f"{total.false_alarms:>12}  {latency:>10}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true", help="also vary our settings one by one")
    args = parser.parse_args()
    names = [n for n in list_scenarios() if load_scenario(n).kind != "demo"]
    clips = [Clip(name) for name in names]
    compare(clips)
    if args.sweep:
        sweep(clips)


if __name__ == "__main__":
    main()
