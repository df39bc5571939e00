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
# The phase correlation's window (px, square), from the middle. Issue 27's round 16, measured at
# 160x120 (the analysis of 320x240 lores frames): 64x64 costs 40 us where the middle half (80x60)
# cost 58 (OpenCV's DFT: powers of two are its fastest), and is about as right on known sub-pixel
# shifts of real frames, blurred as the detector blurs them (error median 0.11 px, p90 0.25, p99
# 0.44, against 0.10, 0.20, 0.35; 48x48's p99 0.83, 32x32's 3.3). Other lores sizes are analysed
# up to 319 px wide, where 64x64 is less of the frame: at 256x192 0.14 / 0.37 / 0.66 against the
# middle half's 0.09 / 0.17 / 0.27, at 160x90 0.12 / 0.27 / 0.53 against 0.49 / 0.64 / 0.78.
# Each under the pixel the 3x3 range the frame is compared with absorbs:
# benchmarks/shake_accuracy.py (--lores).
WINDOW = 64


class ShakeEstimator:
    def __init__(self, size: tuple[int, int]) -> None:
        width, height = size
        self.size = size
        # A WINDOW x WINDOW square from the middle (a shift is global, and the middle has no
        # borders): a power of two, the DFT's cheapest size; on a frame less than WINDOW px wide
        # or high, all of it that way.
        across, down = min(WINDOW, width), min(WINDOW, height)
        left, top = (width - across) // 2, (height - down) // 2
        self._window = (slice(top, top + down), slice(left, left + across))
        self._hanning = cv2.createHanningWindow((across, down), cv2.CV_32F)

    @property
    def held(self) -> tuple[np.ndarray, ...]:
        """The arrays kept from frame to frame (motion.held counts them)."""
        return (self._hanning,)

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
        (dx, dy), response = self.estimate(current, background)
        if response < MIN_RESPONSE or max(abs(dx), abs(dy)) < MIN_SHIFT:
            return None
        return dx, dy

    def estimate(
        self, current: np.ndarray, background: np.ndarray
    ) -> tuple[tuple[float, float], float]:
        """The phase correlation's shift (dx, dy) and its peak (0-1), whatever they are."""
        window = self._window
        (dx, dy), response = cv2.phaseCorrelate(
            background[window].astype(np.float32),
            current[window].astype(np.float32),
            self._hanning,
        )
        return (dx, dy), response

    def moved(self, background: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
        """The background moved by `shift` (each pixel from (x - dx, y - dy), bilinear), borders
        replicated."""
        width, height = self.size
        # (a sub-pixel crop of the whole frame, offset by the shift, is that translation: as
        # warpAffine's, to a level on a few pixels: 7 us against 11)
        centre = ((width - 1) / 2 - shift[0], (height - 1) / 2 - shift[1])
        return cv2.getRectSubPix(background, (width, height), centre)
