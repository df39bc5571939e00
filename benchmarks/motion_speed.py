"""Per-frame analysis cost: our detector vs OpenCV's MOG2, same input, same run (issue 4).

Input sizes: 320x240 (lores as is), 640x480 and 1920x1080 (downscaled to 320x240 inside the
measured time: ours with its own pyramid-then-area downscale, MOG2 with one INTER_AREA resize).
Both are timed frame by frame in turns, for ROUNDS rounds (the machine may be shared); prints
the median ms/frame of each, the ratio of the medians and each round's ratio; goal: ours <= 0.5x.
Also prints the detector's state size at 320x240 (goal <= 1 MB).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.motion import MotionConfig
from motion.baselines import Mog2Detector
from motion.detector import MotionDetector

ANALYSIS = (320, 240)
ROUNDS = 5


def frames(size: tuple[int, int], count: int) -> list[np.ndarray]:
    """A textured scene with a moving blob and sensor noise, at `size`."""
    rng = np.random.default_rng(1)
    width, height = size
    base = cv2.GaussianBlur(rng.integers(40, 200, (height, width), dtype=np.uint8), (9, 9), 0)
    out = []
    for i in range(count):
        img = base.copy()
        x = int((i * 7) % width)
        cv2.circle(img, (x, height // 2), height // 6, 30, -1)
        noise = rng.integers(-3, 4, img.shape, dtype=np.int16)
        out.append(np.clip(img + noise, 0, 255).astype(np.uint8))
    return out


def interleaved_ms(ours, mog, inputs: list[np.ndarray]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Per-frame ms of each, timed frame by frame in turns (who goes first alternates), so that
    other load on a shared machine falls on both alike."""
    for luma in inputs[:20]:
        ours(luma, 0.0)
        mog(luma, 0.0)
    spent = [0.0, 0.0]
    clock = time.perf_counter
    for i, luma in enumerate(inputs):
        order = ((0, ours), (1, mog)) if i % 2 == 0 else ((1, mog), (0, ours))
        for slot, process in order:
            began = clock()
            process(luma, i / 15)
            spent[slot] += clock() - began
    return 1000 * spent[0] / len(inputs), 1000 * spent[1] / len(inputs)


def main() -> None:
    cv2.setNumThreads(1)
    cfg = MotionConfig()
    print(f"{'input':>10}  {'ours ms':>8}  {'MOG2 ms':>8}  ratio")
    for size in ((320, 240), (640, 480), (1920, 1080)):
        inputs = frames(size, 300 if size[0] < 1000 else 120)

        # The machine is shared: several rounds, each timed in turns, and the medians compared.
        ours_runs: list[float] = []
        mog_runs: list[float] = []
        for _ in range(ROUNDS):
            ours_det = MotionDetector(cfg, ANALYSIS)  # downscales itself (pyramid, then area)
            mog_det = Mog2Detector(size=ANALYSIS)
            a, b = interleaved_ms(ours_det.process, mog_det.process, inputs)
            ours_runs.append(a)
            mog_runs.append(b)
        a, b = statistics.median(ours_runs), statistics.median(mog_runs)
        rounds = " ".join(f"{x / y:.2f}" for x, y in zip(ours_runs, mog_runs, strict=True))
        print(f"{size[0]}x{size[1]:<5}  {a:8.3f}  {b:8.3f}  {a / b:5.2f}  (rounds: {rounds})")
    det = MotionDetector(cfg, ANALYSIS)
    det.process(frames(ANALYSIS, 1)[0], 0.0)
    print(f"detector state at 320x240: {det.state_bytes / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
