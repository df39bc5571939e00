"""Is a changed region a blur right in front of the lens (an insect, a drop on the glass)?

Something close to the lens is a blur with a soft outline; anyone at the door is in focus, with a
crisp one. A region keeps its verdict for a few frames while it stays where it was, so the same
blur (or the same visitor) is not measured again every frame; a crisp one follows the region
while it keeps about its size (a visitor or a car moving through the picture): measuring it was
the blur check's cost on nearly every frame of a busy scene.
"""

from __future__ import annotations

import cv2
import numpy as np

from doorbell.motion.outline import area, gradient, mostly_soft, rim
from doorbell.motion.stationary import PixelBox

# A region keeps its in-focus verdict this many frames while it stays where it was: the same
# blur on the lens (or the same visitor) need not be measured again every frame.
RECHECK_FRAMES = 4
# A crisp verdict follows its region from frame to frame (the region overlapping where it was
# last frame) while its area stays within SIZE_CHANGE times the judged one, for up to
# CRISP_FRAMES frames: something moving through the picture keeps its focus; a region that
# grows or shrinks a lot (a blur joining it, half of it leaving) is measured again.
CRISP_FRAMES = 32
SIZE_CHANGE = 2.0
EDGE_EXPONENT = 0.6


def _overlap(a: PixelBox, b: PixelBox) -> float:
    """Intersection over union of two pixel boxes."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


class FocusJudge:
    """Verdicts (soft or crisp) on regions, kept for RECHECK_FRAMES frames."""

    def __init__(self, min_sharpness: float, scale: float) -> None:
        self.min_sharpness = min_sharpness
        # A blur at the lens is judged in levels per lores px (min_sharpness is configured so).
        # Halving steepens a soft outline per px by 1 / scale, a crisp one (a px or two wide
        # either way) by less: measured at 160x120, a gain of 0.5 took the sprite walking into
        # slow_pan for a blur and 0.8 let the insect through; scale ** 0.6 = 0.66 sits between.
        self._edge_gain = scale**EDGE_EXPONENT
        # Recent verdicts: (pixel box, soft, frame number judged), and crisp ones followed:
        # [box last seen, frame last seen, area judged, frame number judged].
        self._verdicts: list[tuple[PixelBox, bool, int]] = []
        self._crisp: list[tuple[PixelBox, int, int, int]] = []

    def clear(self) -> None:
        self._verdicts.clear()
        self._crisp.clear()

    def forget_before(self, frame: int) -> None:
        """Drop the verdicts too old to stand in for a measurement at `frame`."""
        self._verdicts = [v for v in self._verdicts if frame - v[2] < RECHECK_FRAMES]
        self._crisp = [c for c in self._crisp if frame - c[1] <= 1 and frame - c[3] < CRISP_FRAMES]

    def soft(
        self,
        contour: np.ndarray,
        box: PixelBox,
        current: np.ndarray,
        frame: int,
        dimming: float,
    ) -> bool:
        """Is the region a blur at the lens: `defocused`, reusing a verdict from the last few
        frames for the same region. `dimming`: how much darker than full light the picture is
        (1: not at all)."""
        size = box[2] * box[3]
        crisp = self._crisp
        for seen, when, judged_size, judged_at in crisp:
            if (
                when < frame
                and judged_size < SIZE_CHANGE * size
                and size < SIZE_CHANGE * judged_size
                and _overlap(seen, box) > 0.0
            ):
                # followed to here (by each part, when the region split)
                crisp.append((box, frame, judged_size, judged_at))
                return False
        for judged, soft, when in self._verdicts:
            if frame - when < RECHECK_FRAMES and _overlap(judged, box) >= 0.5:
                if not soft:
                    crisp.append((box, frame, size, when))
                return soft
        soft = self.defocused(contour, box, current, dimming)
        self._verdicts.append((box, soft, frame))
        if not soft:
            crisp.append((box, frame, size, frame))
        return soft

    def defocused(
        self, contour: np.ndarray, box: PixelBox, current: np.ndarray, dimming: float
    ) -> bool:
        """Something close to the lens is a blur with a soft outline; anyone at the door is in
        focus, with a crisp one."""
        limit = self.min_sharpness
        x, y, w, h = box
        if limit <= 0 or w < 3 or h < 3:
            return False
        # Sharpness is a contrast: in a darker picture every outline is softer by as much, so
        # it is judged as if in full light. A blur is soft all over: a visitor whose outline
        # the noise of a dark night frays still has a crisp coat, face or zip inside it.
        magnitude = gradient(current[y : y + h, x : x + w], self._edge_gain / dimming)
        _, sharp = cv2.threshold(magnitude, limit - 0.5, 255, cv2.THRESH_BINARY)
        inside = area(contour, box)
        # (inside first: a visitor's crisp coat settles it without measuring the rim)
        return mostly_soft(sharp, inside) and mostly_soft(sharp, rim(inside))
