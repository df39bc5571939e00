"""Estimating sensor noise so the threshold can follow it (like Motion's noise_tune)."""

from __future__ import annotations

import numpy as np


class NoiseEstimator:
    """A slow moving average of the robust spread (MAD) of the frame difference where nothing
    moves; the threshold is `k` times that, within the configured bounds."""

    def __init__(self, k: float, low: float, high: float, alpha: float = 0.05) -> None:
        self.k, self.low, self.high, self.alpha = k, low, high, alpha
        self.sigma: float | None = None

    def update(self, diff: np.ndarray, still: np.ndarray) -> None:
        """`diff`: absolute difference image; `still`: boolean mask of pixels without motion."""
        sample = diff[::4, ::4][still[::4, ::4]]
        if sample.size < 64:
            return
        # For |N(0, s)|, the median is 0.674 s.
        sigma = float(np.median(sample)) / 0.674
        self.sigma = (
            sigma if self.sigma is None else (1 - self.alpha) * self.sigma + self.alpha * sigma
        )

    @property
    def threshold(self) -> float:
        if self.sigma is None:
            return self.low
        return min(self.high, max(self.low, self.k * self.sigma))
