"""Detection quality on the scenario library: ours beside two baselines, same frames (issue 4).

For each scenario and in total: precision, recall and median onset latency (frames from the
truth's start to the detection's start) for
  - ours (MotionDetector + EventTracker at default settings),
  - picamera2's example score (mean squared difference of consecutive frames > 7, uint8 wrap
    fixed), through the same EventTracker,
  - OpenCV MOG2 with an area threshold (1 % of the frame), through the same EventTracker.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from device.analysis import scenario_spans
from device.scenarios import list_scenarios, load_scenario
from motion.baselines import MeanSquaredDifference, Mog2Detector
from motion.detector import MotionDetector
from motion.scoring import Score, Span, score


def detect(name: str, make) -> tuple[Score, list[Span]]:  # type: ignore[no-untyped-def]
    truth, spans = scenario_spans(name, make)
    return score(truth, spans), spans


DETECTORS = {
    "ours": lambda cfg, size: MotionDetector(cfg, size),
    "picamera2-msd": lambda cfg, size: MeanSquaredDifference(7.0),
    "mog2": lambda cfg, size: Mog2Detector(1.0),
}


def fmt(s: Score) -> str:
    latency = "-" if s.median_latency is None else f"{s.median_latency:.0f}"
    return f"P {s.precision:4.2f} R {s.recall:4.2f} lat {latency:>3} FA {s.false_alarms:2d}"


def main() -> None:
    names = [n for n in list_scenarios() if load_scenario(n).kind != "demo"]
    totals = {key: Score() for key in DETECTORS}
    print(f"{'scenario':<22} {'kind':<12} " + "  ".join(f"{k:<28}" for k in DETECTORS))
    for name in names:
        kind = load_scenario(name).kind
        cells = []
        for key, make in DETECTORS.items():
            result, _ = detect(name, make)
            totals[key].add(result)
            cells.append(f"{fmt(result):<28}")
        print(f"{name:<22} {kind:<12} " + "  ".join(cells))
    print(f"{'TOTAL':<22} {'':<12} " + "  ".join(f"{fmt(totals[k]):<28}" for k in DETECTORS))


if __name__ == "__main__":
    main()
