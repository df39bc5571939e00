"""Which frames are our detector's slowest (issue 27's p99): each frame's cost with what ran on it.

Every frame of the real clips (the two highway clips and vtest.avi, as `motion_speed.py
--frigate` reads them) and of any library scenes named goes through ours, Frigate's
ImprovedMotionDetector and MOG2 in turn (the order rotating), ours timed in thread time. Each of
our frames is labelled by the steps that ran on it: J the lighting's whole judgement, L the
restless model's learning, N the noise, A absorption, R the background's range, M regions
(anything changed). Prints, per clip, the median and p99, then per label how many frames, their
median, p90 and maximum in units of the clip's median, and the labels of the slowest 2 %.

    python benchmarks/motion_tail.py --frigate /path/to/frigate-source [scene ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.motion_speed import ANALYSIS, Mog2, per_frame_ms, real_clips, scene_frames
from doorbell.config.motion import MotionConfig
from doorbell.motion import difference, lighting, noise, restless, stationary
from doorbell.motion.detector import MotionDetector

LABELS: tuple[tuple[type, str, str, Callable[[Any], bool] | None], ...] = (
    (lighting.LightingModel, "estimate", "J", lambda estimate: bool(estimate.judged)),
    (restless.RestlessModel, "update", "L", None),
    (noise.NoiseEstimator, "update", "N", None),
    (stationary.StationaryBlocks, "absorb", "A", None),
    (difference.RangeDifference, "measure", "R", None),
    (MotionDetector, "_moving", "M", None),
)


def label_steps(ran: set[str]) -> None:
    """Wrap each labelled step so that running it adds its letter to `ran`."""
    for cls, name, letter, counts in LABELS:
        step = getattr(cls, name)

        def run(*args: Any, _step: Any = step, _l: str = letter, _c: Any = counts) -> Any:
            result = _step(*args)
            if _c is None or _c(result):
                ran.add(_l)
            return result

        setattr(cls, name, run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frigate", type=Path, required=True, help="Frigate's source")
    parser.add_argument("scenes", nargs="*", help="library scenes to add")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    from benchmarks.motion_frigate import FrigateDetector, load

    frigate = load(args.frigate)
    clips = real_clips() + [(name, scene_frames(name, 300), 15.0) for name in args.scenes]
    ran: set[str] = set()
    label_steps(ran)
    for name, frames, fps in clips:
        ours = MotionDetector(MotionConfig(), ANALYSIS)
        labels: list[str] = []

        def labelled(
            luma: np.ndarray, t: float, ours: MotionDetector = ours, labels: list[str] = labels
        ) -> None:
            ran.clear()
            ours.process(luma, t)
            labels.append("".join(sorted(ran)) or "-")

        spent = per_frame_ms(
            {
                "ours": labelled,
                "frigate": FrigateDetector(frigate, ANALYSIS, round(fps)).process,
                "mog2": Mog2().process,
            },
            frames,
            fps,
        )
        times = spent["ours"]
        median, p99 = statistics.median(times), float(np.percentile(times, 99))
        print(f"{name}: median {median:.3f} ms, p99 {p99:.3f} ms, p99/median {p99 / median:.2f}")
        by_label: dict[str, list[float]] = {}
        for t, label in zip(times, labels, strict=True):
            by_label.setdefault(label, []).append(t / median)
        for label, ratios in sorted(by_label.items(), key=lambda item: -len(item[1])):
            print(
                f"  {label:<7} {len(ratios):4} frames: median {statistics.median(ratios):.2f}x"
                f"  p90 {float(np.percentile(ratios, 90)):.2f}x  max {max(ratios):.2f}x"
            )
        slowest = sorted(zip(times, labels, strict=True), reverse=True)[: max(1, len(times) // 50)]
        print("  slowest 2 %:", dict(Counter(label for _, label in slowest).most_common()))


if __name__ == "__main__":
    main()
