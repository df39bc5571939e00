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
    in four) is as good, and the usual frame does not measure it.

    What changed is found from the range widened by the threshold (`changed`): one range test
    on the frame instead of the difference and its comparison (four calls; issue 27's sixth
    round), the widened range made again only when the range or the threshold changes. The
    difference itself is measured only on the frames that need it (`difference`)."""

    def __init__(self) -> None:
        self._range: tuple[np.ndarray, np.ndarray] | None = None
        self._measured_from: np.ndarray | None = None  # the array the range is of, if unchanged
        # The range widened by the threshold, and what it was made for: the threshold (whole
        # levels, or the per-pixel array) and the range.
        self._widened: tuple[np.ndarray, np.ndarray] | None = None
        self._widened_for: tuple[object, object] | None = None

    def forget(self) -> None:
        """The background changed at once (light compensated unevenly, scene forgotten)."""
        self._range = self._measured_from = None
        self._widened = self._widened_for = None  # (made again from the next range)

    def scale(self, gain: float) -> None:
        """The background was multiplied by one gain: so are its neighbourhood's maximum and
        minimum (a gain keeps the order of levels), at a fraction of measuring them again."""
        if self._range is not None:
            high, low = self._range
            self._range = (
                cv2.convertScaleAbs(high, alpha=gain),
                cv2.convertScaleAbs(low, alpha=gain),
            )
            self._measured_from = None  # (scaled: no longer measured on any array)

    @property
    def held(self) -> tuple[object, ...]:
        """What it keeps from frame to frame (motion.held counts each array once): the range,
        the array it was measured on (the detector's uint8 background, kept for `range_of`),
        the widened range and what it was widened for (a range since replaced; the restless
        model's per-pixel thresholds, or a whole level)."""
        held = (*(self._range or ()), *(self._widened or ()), self._measured_from)
        return held + (self._widened_for or ())

    @property
    def known(self) -> bool:
        """Is there a range to reuse?"""
        return self._range is not None

    def measure(self, reference: np.ndarray) -> None:
        """Measure the range of `reference` (the background, uint8)."""
        self._range = cv2.dilate(reference, _NEAR), cv2.erode(reference, _NEAR)
        self._measured_from = reference

    def range_of(self, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The range (maximum, minimum) if it was measured on this very array, else None."""
        return self._range if self._measured_from is reference else None

    def difference(
        self, current: np.ndarray, window: tuple[slice, slice] | None = None
    ) -> np.ndarray:
        """How far `current` lies outside the range (uint8); given a `window`, there only (the
        window's size: what the whole frame's difference has there)."""
        assert self._range is not None
        if window is None:
            return apart(current, *self._range)
        high, low = self._range
        return apart(current[window], high[window], low[window])

    def changed(
        self, current: np.ndarray, threshold: float, needed: np.ndarray | None
    ) -> np.ndarray:
        """255 where the difference exceeds `threshold` or, given, each pixel's `needed` (uint8),
        as `difference(current) > threshold` would say: the difference is in whole levels, so it
        exceeds the threshold where `current` is outside [low - n, high + n], n = int(threshold)
        (saturating: where high + n passes 255 no frame's level is that far above)."""
        assert self._range is not None
        high, low = self._range
        # (the per-pixel thresholds are a new array whenever they change: compared by identity)
        wanted: object = int(threshold) if needed is None else needed
        made = self._widened_for
        if made is None or made[0] is not high or not _same(made[1], wanted):
            if needed is None:  # (low - n and high + n, saturating)
                # (a scalar added, saturating: 2 us each, where addWeighted's float
                # arithmetic took 5; this runs on every frame that measured the range)
                n = int(threshold)
                self._widened = cv2.add(low, -n), cv2.add(high, n)
            else:
                self._widened = cv2.subtract(low, needed), cv2.add(high, needed)
            self._widened_for = (high, wanted)
        assert self._widened is not None
        return cv2.bitwise_not(cv2.inRange(current, *self._widened))

    @staticmethod
    def once(current: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Against a reference seen only this once (the background moved by a shake)."""
        return apart(current, cv2.dilate(reference, _NEAR), cv2.erode(reference, _NEAR))


def _same(a: object, b: object) -> bool:
    """The same threshold: the same whole level, or the very same per-pixel array."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is b
    return a == b


def apart(current: np.ndarray, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """How far `current` lies above `high` or below `low` (uint8, saturating)."""
    return cv2.max(cv2.subtract(current, high), cv2.subtract(low, current))


def exceeding(diff: np.ndarray, threshold: float, needed: np.ndarray | None) -> np.ndarray:
    """Where a difference exceeds the threshold (255) or, given, each pixel's own."""
    if needed is None:
        return cv2.threshold(diff, threshold, 255, cv2.THRESH_BINARY)[1]
    return cv2.compare(diff, needed, cv2.CMP_GT)
