"""The difference that counts: how far each pixel lies outside the background's range in its
3x3 neighbourhood (0 inside it). A leaf or an edge moved by a pixel (wind, a camera jittering)
is not a change of scene, while something new is outside its surroundings' range."""

from __future__ import annotations

import cv2
import numpy as np

_NEAR = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))


class RangeDifference:
    """Keeps the background's neighbourhood range (its 3x3 maximum and minimum) for a few
    frames: the background learns a few percent of a difference per frame, far less than the
    range is wide, so a range up to three frames old (motion.detector measures it on one frame
    in four) is as good, and the usual frame does not measure it."""

    def __init__(self) -> None:
        self._range: tuple[np.ndarray, np.ndarray] | None = None

    def forget(self) -> None:
        """The background changed at once (light compensated unevenly, scene forgotten)."""
        self._range = None

    def scale(self, gain: float) -> None:
        """The background was multiplied by one gain: so are its neighbourhood's maximum and
        minimum (a gain keeps the order of levels), at a fraction of measuring them again."""
        if self._range is not None:
            high, low = self._range
            self._range = (
                cv2.convertScaleAbs(high, alpha=gain),
                cv2.convertScaleAbs(low, alpha=gain),
            )

    def __call__(self, current: np.ndarray, reference: np.ndarray, reuse: bool) -> np.ndarray:
        """`reference`: the background (uint8); `reuse`: the range from an earlier call may do."""
        if self._range is None or not reuse:
            self._range = cv2.dilate(reference, _NEAR), cv2.erode(reference, _NEAR)
        return apart(current, *self._range)

    @staticmethod
    def once(current: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Against a reference seen only this once (the background moved by a shake)."""
        return apart(current, cv2.dilate(reference, _NEAR), cv2.erode(reference, _NEAR))


def apart(current: np.ndarray, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """How far `current` lies above `high` or below `low` (uint8, saturating)."""
    return cv2.max(cv2.subtract(current, high), cv2.subtract(low, current))
