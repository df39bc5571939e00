"""Estimating sensor noise so the threshold can follow it (like Motion's noise_tune)."""

from __future__ import annotations

import cv2
import numpy as np

# Brightness (mean luma) at and above which the configured lower bound applies in full. In a
# darker picture everything a change of scene brings scales down with the light (a coat that
# differs by 40 levels in daylight differs by 10 at a quarter of it), and so does the lower
# bound, down to MIN_LOW levels; the noise-following part (k x sigma) is measured as it is.
FULL_LIGHT = 100.0
MIN_LOW = 6.0
SAMPLE_STEP = 4  # every fourth pixel each way is a sample of the noise: plenty, and cheap


class NoiseEstimator:
    """A slow moving average of the robust spread (MAD) of the frame difference where nothing
    moves; the threshold is `k` times that, within the configured bounds, the lower one scaled
    with the picture's brightness."""

    def __init__(self, k: float, low: float, high: float, alpha: float = 0.05) -> None:
        self.k, self.low, self.high, self.alpha = k, low, high, alpha
        self.sigma: float | None = None
        self.brightness = FULL_LIGHT

    def update(
        self,
        current: np.ndarray,
        background: np.ndarray,
        moving: tuple[slice, slice] | None,
        calm: np.ndarray | None,
    ) -> None:
        """`current`: uint8 luma; `background`: what it is compared with, uint8 (the detector's
        background as rounded, made on the frame anyway for the range), of the same size;
        `moving`: the box around what moves (rows, columns: slices from 0 of step 1), left out;
        `calm`: boolean mask of the places that do not keep moving, of every SAMPLE_STEP-th
        pixel each way (the shape of current[::4, ::4]), a new array this may write to; None:
        everywhere. The brightness is the background's mean luma. (The level from the samples
        only: a sixteenth of the pixels. Issue 27's ninth round.)"""
        step = SAMPLE_STEP
        self.brightness = float(cv2.mean(background)[0])
        # (the plain difference: the noise model is of |N(0, sigma)|; of the whole frame, whose
        # rows are in the cache, in one call: the samples' strided copies cost more)
        diff = cv2.absdiff(current, background)[::step, ::step]
        where = np.ones(diff.shape, bool) if calm is None else calm
        if moving is not None:
            # (the box cut out of the sample's mask, not a full-size mask sampled and combined
            # with it: 15-18 us cold on every noise frame, issue 27's fourteenth round)
            rows, columns = moving
            where[_sampled(rows, step), _sampled(columns, step)] = False
        sample = diff[where]
        if sample.size < 64:
            return
        # For |N(0, s)|, the median is 0.674 s. (The median by partition, in place: np.median's
        # bookkeeping, and np.partition's copy, cost more than the work on a sample this small.)
        middle = sample.size // 2
        sample.partition(middle)
        sigma = float(sample[middle]) / 0.674
        self.sigma = (
            sigma if self.sigma is None else (1 - self.alpha) * self.sigma + self.alpha * sigma
        )

    @property
    def threshold(self) -> float:
        low = max(min(self.low, MIN_LOW), self.low * min(1.0, self.brightness / FULL_LIGHT))
        if self.sigma is None:
            return low
        return min(self.high, max(low, self.k * self.sigma))


def _sampled(pixels: slice, step: int) -> slice:
    """The samples (every `step`-th pixel from 0) that lie in `pixels` (from 0, step 1)."""
    # (sample i is pixel step x i: inside when start <= step x i < stop)
    return slice(-(-pixels.start // step), -(-pixels.stop // step))
