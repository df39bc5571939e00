"""The usual baselines, for the benchmark: same interface as MotionDetector.process.

- picamera2's example (`capture_motion.py`): mean squared difference of consecutive lores Y
  planes, motion above 7. The example subtracts uint8 arrays, which wraps around; fixed here by
  widening first.
- OpenCV's MOG2 background subtractor, with an area threshold on its foreground mask.
"""

from __future__ import annotations

import cv2
import numpy as np

from motion.types import MotionResult


class MeanSquaredDifference:
    def __init__(self, threshold: float = 7.0) -> None:
        self.threshold = threshold
        self._previous: np.ndarray | None = None

    def process(self, luma: np.ndarray, t: float) -> MotionResult:
        current = luma.astype(np.int16)
        previous, self._previous = self._previous, current
        if previous is None:
            return MotionResult(t, 0.0, False, self.threshold)
        mse = float(np.square(current - previous).mean())
        return MotionResult(t, mse, mse > self.threshold, self.threshold)


class Mog2Detector:
    def __init__(self, min_area: float = 1.0, size: tuple[int, int] | None = None) -> None:
        self.min_area = min_area
        self.size = size
        self._mog = cv2.createBackgroundSubtractorMOG2(
            history=500, varThreshold=16, detectShadows=False
        )

    def process(self, luma: np.ndarray, t: float) -> MotionResult:
        if self.size is not None and luma.shape[1::-1] != self.size:
            luma = cv2.resize(luma, self.size, interpolation=cv2.INTER_AREA)
        mask = self._mog.apply(luma)
        share = 100.0 * cv2.countNonZero(mask) / mask.size
        return MotionResult(t, share, share >= self.min_area, self.min_area)
