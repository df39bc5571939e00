"""The camera shake's estimate (motion.shake): how right and how costly, per window (issue 27).

Real frames (every 60th of the two highway clips and vtest.avi, as `motion_speed.py` reads
them, and of the scenes walk_up_ring, foliage_visitor and shake_visitor) are moved by known
shifts of 0.3-3 px in both axes and directions (bicubic at their own size, then brought to the
analysis size as the detector does; sensor noise of 2 levels added; then the detector's Gaussian
blur, 3x3 for 320x240 lores frames, on the frame and on the background it is compared with), and
the shift is estimated by phase correlation on a window from the middle: the detector's
(motion.shake.WINDOW) and others, the middle half (80x60 at 160x120, before round 16) among them.
Prints per window the error's median, p90, p99 and maximum (px), then each window's cost and the
moved background's (warm, in a loop: medians of rounds, the variants interleaved).

    python benchmarks/shake_accuracy.py [--lores 320x240] [--no-blur]

(--lores: the lores size whose analysis size is measured, motion.resample.work_size; --no-blur:
the figures before the detector's blur, as round 16 first printed them.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.motion_speed import REAL, scene_frames
from benchmarks.real_footage import vtest_original
from doorbell.config.motion import MotionConfig
from doorbell.device.emulation.scenarios.real_footage import read_luma
from doorbell.motion.resample import downscale, work_size
from doorbell.motion.shake import WINDOW, ShakeEstimator

WORK = (160, 120)  # the analysis size (of 320x240 lores frames unless --lores says otherwise)
WINDOWS = ((80, 60), (WINDOW, WINDOW), (64, 48), (96, 60), (48, 48), (32, 32))
BLUR = 3  # the detector's blur (px, square) at this analysis size: MotionDetector's formula
SHIFTS = [
    (size * dx, size * dy)
    for size in (0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
    for dx, dy in ((1, 0), (0, 1), (1, 1), (-1, 0.5), (0.5, -1))
]
Estimate = Callable[[np.ndarray, np.ndarray], tuple[float, float]]


def frames() -> list[np.ndarray]:
    """Full-size luma frames: every 60th of the real clips' first 600 and of three scenes."""
    out: list[np.ndarray] = []
    for path in (REAL, REAL.parent / "highway-overlay.avi", vtest_original()):
        clip, _ = read_luma(path)
        out += clip[:600:60]
    for name in ("walk_up_ring", "foliage_visitor", "shake_visitor"):
        out += scene_frames(name, 300)[::60]
    return out


def moved(full: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """`full` moved by (dx, dy) analysis pixels, brought to the analysis size."""
    height, width = full.shape
    matrix = np.array([[1, 0, dx * width / WORK[0]], [0, 1, dy * height / WORK[1]]], np.float32)
    flags, border = cv2.INTER_CUBIC, cv2.BORDER_REPLICATE
    return downscale(
        cv2.warpAffine(full, matrix, (width, height), flags=flags, borderMode=border), WORK
    )


def phase_correlation(across: int, down: int) -> Estimate:
    """Phase correlation on the middle across x down, as motion.shake runs it."""
    width, height = WORK
    left, top = (width - across) // 2, (height - down) // 2
    window = (slice(top, top + down), slice(left, left + across))
    hanning = cv2.createHanningWindow((across, down), cv2.CV_32F)

    def estimate(current: np.ndarray, background: np.ndarray) -> tuple[float, float]:
        a, b = background[window].astype(np.float32), current[window].astype(np.float32)
        return cv2.phaseCorrelate(a, b, hanning)[0]

    return estimate


def blurred(image: np.ndarray) -> np.ndarray:
    """As the detector blurs a frame (its background learns from blurred frames)."""
    return cv2.GaussianBlur(image, (BLUR, BLUR), 0) if BLUR > 1 else image


def accuracy(estimates: dict[str, Estimate]) -> None:
    rng = np.random.default_rng(1)
    errors: dict[str, list[float]] = {name: [] for name in estimates}
    for full in frames():
        background = blurred(downscale(full, WORK))
        for dx, dy in SHIFTS:
            noise = rng.normal(0, 2, WORK[::-1]).round()
            current = blurred(np.clip(moved(full, dx, dy) + noise, 0, 255).astype(np.uint8))
            for name, estimate in estimates.items():
                ex, ey = estimate(current, background)
                errors[name].append(float(np.hypot(ex - dx, ey - dy)))
    shifts = len(errors[next(iter(errors))])
    print(
        f"error against the known shift (px), {shifts} shifts at {WORK[0]}x{WORK[1]}, blur {BLUR}"
    )
    for name, error in errors.items():
        p50, p90, p99 = np.percentile(error, (50, 90, 99))
        print(f"  {name:14s} median {p50:.3f}  p90 {p90:.3f}  p99 {p99:.3f}  max {max(error):.2f}")


def cost(calls: dict[str, Callable[[], object]], rounds: int = 7, loops: int = 200) -> None:
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter_ns()
            for _ in range(loops):
                call()
            times[name].append((time.perf_counter_ns() - start) / loops / 1e3)
    print(f"cost per call (us, warm, medians of {rounds} rounds [range])")
    for name, us in times.items():
        print(f"  {name:24s} {statistics.median(us):6.1f}  [{min(us):.1f}-{max(us):.1f}]")


def size(text: str) -> tuple[int, int]:
    """WxH, as --lores takes it (argparse says what is wrong with it, exit 2)."""
    parts = text.split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) >= 64 for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r}: want WxH, each at least 64")
    return int(parts[0]), int(parts[1])


def main() -> None:
    global WORK, BLUR
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lores", default="320x240", type=size, help="lores frame size, WxH")
    parser.add_argument("--no-blur", action="store_true", help="leave out the detector's blur")
    args = parser.parse_args()
    lores = args.lores
    WORK = work_size(lores)
    scale = WORK[0] / lores[0]
    BLUR = 1 if args.no_blur else max(1, round(MotionConfig().blur * scale)) | 1
    cv2.setNumThreads(1)
    # (the middle half, round 15's window, and the others as far as the frame holds them)
    windows = {(WORK[0] // 2, WORK[1] // 2)} | {
        (min(a, WORK[0]), min(d, WORK[1])) for a, d in WINDOWS
    }
    estimates = {f"{a}x{d}": phase_correlation(a, d) for a, d in sorted(windows, reverse=True)}
    accuracy(estimates)
    clip, _ = read_luma(REAL)
    background, current = downscale(clip[100], WORK), downscale(clip[101], WORK)
    detector = ShakeEstimator(WORK)
    shift = (0.63, -0.41)
    matrix = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
    calls: dict[str, Callable[[], object]] = {
        f"estimate {name}": lambda e=e: e(current, background) for name, e in estimates.items()
    }
    calls["moved: warpAffine"] = lambda: cv2.warpAffine(
        background, matrix, WORK, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    calls["moved: getRectSubPix"] = lambda: detector.moved(background, shift)
    cost(calls)


if __name__ == "__main__":
    main()
