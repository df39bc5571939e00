"""Per-frame analysis cost: our detector vs OpenCV's MOG2, same input, same run (issue 4).

Input sizes: 320x240 (lores as is), 640x480 and 1920x1080 (downscaled to 320x240 inside the
measured time: ours with its own pyramid-then-area downscale, MOG2 with one INTER_AREA resize).
Prints ms/frame for both and the ratio; goal: ours <= 0.5x.
Also prints the detector's state size at 320x240 (goal <= 1 MB).
"""

from __future__ import annotations

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


def per_frame_ms(process, inputs: list[np.ndarray]) -> float:  # type: ignore[no-untyped-def]
    for luma in inputs[:20]:
        process(luma, 0.0)
    began = time.perf_counter()
    for i, luma in enumerate(inputs):
        process(luma, i / 15)
    return 1000 * (time.perf_counter() - began) / len(inputs)


def main() -> None:
    cv2.setNumThreads(1)
    cfg = MotionConfig()
    print(f"{'input':>10}  {'ours ms':>8}  {'MOG2 ms':>8}  ratio")
    for size in ((320, 240), (640, 480), (1920, 1080)):
        inputs = frames(size, 300 if size[0] < 1000 else 120)

        ours_det = MotionDetector(cfg, ANALYSIS)
        mog_det = Mog2Detector(size=ANALYSIS)

        def ours(luma: np.ndarray, t: float, det: MotionDetector = ours_det) -> None:
            det.process(luma, t)  # downscales itself (pyramid, then area)

        def mog(luma: np.ndarray, t: float, det: Mog2Detector = mog_det) -> None:
            det.process(luma, t)

        a, b = per_frame_ms(ours, inputs), per_frame_ms(mog, inputs)
        print(f"{size[0]}x{size[1]:<5}  {a:8.3f}  {b:8.3f}  {a / b:5.2f}")
    det = MotionDetector(cfg, ANALYSIS)
    det.process(frames(ANALYSIS, 1)[0], 0.0)
    print(f"detector state at 320x240: {det.state_bytes / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
