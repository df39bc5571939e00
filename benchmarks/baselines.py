"""The usual baselines, for the benchmark: each a `Detector` (motion.types), as ours is.

- picamera2's example (`capture_motion.py`): mean squared difference of consecutive lores Y
  planes, motion above 7. The example subtracts uint8 arrays, which wraps around; fixed here by
  widening first.
- OpenCV's background subtractors, MOG2 and KNN (and contrib's CNT and GSOC where `cv2.bgsegm`
  is importable: it is not in opencv-python-headless), each followed by the same post-processing
  as ours gets before its own checks, so that detectors are compared and not post-processing:
  a 3x3 opening, the share of each zone changed, `min_area` of a zone to count; the events then
  come from the same EventTracker (`min_frames` in a row).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from doorbell.config.motion import MotionConfig
from doorbell.motion.types import Box, MotionResult
from doorbell.motion.zones import rasterise

_OPENING = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))


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

    def reset(self) -> None:
        self._previous = None


def _mog2() -> cv2.BackgroundSubtractor:
    return cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16, detectShadows=False)


def _knn() -> cv2.BackgroundSubtractor:
    return cv2.createBackgroundSubtractorKNN(detectShadows=False)


def subtractors() -> dict[str, Callable[[], cv2.BackgroundSubtractor]]:
    """The OpenCV subtractors this build has, by name (OpenCV's defaults, shadows off)."""
    made: dict[str, Callable[[], cv2.BackgroundSubtractor]] = {"mog2": _mog2, "knn": _knn}
    contrib = getattr(cv2, "bgsegm", None)
    if contrib is not None:
        made["cnt"] = contrib.createBackgroundSubtractorCNT
        made["gsoc"] = contrib.createBackgroundSubtractorGSOC
    return made


class SubtractorDetector:
    """An OpenCV background subtractor's foreground mask, opened by 3x3, scored per zone."""

    def __init__(
        self,
        cfg: MotionConfig,
        size: tuple[int, int],
        make: Callable[[], cv2.BackgroundSubtractor] = _mog2,
    ) -> None:
        self.size = size
        self.min_area = cfg.min_area
        self.zones = rasterise(cfg.zones, size)
        self._everywhere = not cfg.zones
        self._make = make
        self._subtractor = make()

    def reset(self) -> None:
        self._subtractor = self._make()

    def process(self, luma: np.ndarray, t: float) -> MotionResult:
        if luma.shape[1::-1] != self.size:
            luma = cv2.resize(luma, self.size, interpolation=cv2.INTER_AREA)
        mask = self._subtractor.apply(luma)
        cv2.morphologyEx(mask, cv2.MORPH_OPEN, _OPENING, dst=mask)
        best, zones = 0.0, []
        for zone in self.zones:
            inside = mask if self._everywhere else cv2.bitwise_and(mask, zone.mask)
            share = 100.0 * cv2.countNonZero(inside) / zone.pixels
            best = max(best, share)
            if share >= self.min_area:
                zones.append(zone.name)
        boxes: tuple[Box, ...] = ()
        if zones:
            x, y, w, h = cv2.boundingRect(mask)
            width, height = self.size
            boxes = (Box(x / width, y / height, w / width, h / height),)
        return MotionResult(t, best, bool(zones), self.min_area, boxes, tuple(zones))
