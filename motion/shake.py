"""Camera shake: the whole picture shifted by a few pixels (wind on the housing, a door slam).

A shake changes edges all over the frame at once, which a visitor does not: only then is the
global shift between the frame and the background estimated, by phase correlation on the
middle of the analysis frame (not downscaled further: that loses the sub-pixel accuracy a
one-pixel shake needs). The frame is then compared with the background moved by that
shift.
"""

from __future__ import annotations

import cv2
import numpy as np

GRID = (4, 4)  # cells over the frame: a shake changes most of them at once
CELL_SHARE = 0.02  # a cell counts as changed above this share of its pixels ...
SPREAD_CELLS = 11  # ... and a shake is suspected when at least this many of the 16 have
_CELL_LEVEL = int(255 * CELL_SHARE)  # a cell's mean (0-255) above this counts
MIN_SHIFT = 0.3  # px: smaller shifts are noise in the estimate
MIN_RESPONSE = 0.3  # phase correlation peak: below it, no single shift explains the frame


class ShakeEstimator:
    def __init__(self, size: tuple[int, int]) -> None:
        width, height = size
        self.size = size
        # The middle half in each direction: a shift is global, and the middle has no borders.
        self._window = (
            slice(height // 4, height // 4 + height // 2),
            slice(width // 4, width // 4 + width // 2),
        )
        self._hanning = cv2.createHanningWindow((width // 2, height // 2), cv2.CV_32F)

    def suspected(self, changed: np.ndarray) -> bool:
        """Has most of the frame changed (edges everywhere), as a shaken picture does?"""
        if cv2.countNonZero(changed) < changed.size * CELL_SHARE * SPREAD_CELLS / 16:
            return False  # (the usual frame: too little changed for it, checked at a glance)
        # The cells' means by one area resize, counted in Python: a numpy comparison on 16
        # values costs more than the resize (its code is cold after the rest of the frame).
        # (uint8 means, rounded: a share of 2 % is 5.1 levels, so a cell counts from 6.)
        cells = cv2.resize(changed, GRID, interpolation=cv2.INTER_AREA).tobytes()
        return sum(level > _CELL_LEVEL for level in cells) >= SPREAD_CELLS

    def shift(self, current: np.ndarray, background: np.ndarray) -> tuple[float, float] | None:
        """The frame's shift (dx, dy) in px relative to the background (uint8 both), or None
        when there is none worth compensating."""
        window = self._window
        (dx, dy), response = cv2.phaseCorrelate(
            background[window].astype(np.float32),
            current[window].astype(np.float32),
            self._hanning,
        )
        if response < MIN_RESPONSE or max(abs(dx), abs(dy)) < MIN_SHIFT:
            return None
        return dx, dy

    def moved(self, background: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
        """The background moved by `shift`, borders replicated."""
        width, height = self.size
        matrix = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
        return cv2.warpAffine(
            background,
            matrix,
            (width, height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
