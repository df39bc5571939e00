"""Pictures for the detector: the regions around an event's boxes, cut from the main stream.

The main stream, not the 320x240 analysis image: a person across the road is a few lores pixels
but a few dozen of the main picture's. Each crop is square (the box's longer side plus a margin,
so the detector sees the whole object and some of what surrounds it), never smaller than
`min_side` of the picture's height (a small box is mostly context, scaled up), converted from
I420 only where it is cut, and scaled to the detector's input.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from doorbell.device.runtime.frame import planes
from doorbell.motion.types import Box

MARGIN = 0.25  # of the box's longer side, on each side


def merged(boxes: Sequence[Box], limit: int) -> list[Box]:
    """The boxes with overlapping ones joined (a person's motion often comes as several pieces),
    the `limit` largest first."""
    pending = list(boxes)
    out: list[Box] = []
    while pending:
        box = pending.pop()
        joined = True
        while joined:
            joined = False
            for other in list(pending):
                if box.overlaps(other):
                    box = box.union(other)
                    pending.remove(other)
                    joined = True
        out.append(box)
    out.sort(key=lambda b: b.w * b.h, reverse=True)
    return out[:limit]


def crop_rect(box: Box, width: int, height: int, min_side: float) -> tuple[int, int, int, int]:
    """The square around `box` (normalised) in pixels, x0, y0, x1, y1, inside the picture and
    with even corners (I420's chroma is halved in both directions)."""
    cx, cy = (box.x + box.w / 2) * width, (box.y + box.h / 2) * height
    side = max(box.w * width, box.h * height) * (1 + 2 * MARGIN)
    side = max(side, min_side * height)
    # Square where the picture allows; a box wider than the picture is tall gets all its height.
    w, h = int(min(side, width)) & ~1, int(min(side, height)) & ~1
    x0 = int(min(max(cx - w / 2, 0), width - w)) & ~1
    y0 = int(min(max(cy - h / 2, 0), height - h)) & ~1
    return x0, y0, x0 + w, y0 + h


def crop_rgb(i420: np.ndarray, rect: tuple[int, int, int, int], size: int) -> np.ndarray:
    """The rectangle of an I420 picture as a `size` x `size` RGB image."""
    x0, y0, x1, y1 = rect
    y, u, v = planes(i420)
    parts = (
        y[y0:y1, x0:x1],
        u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2],
        v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2],
    )
    block = np.concatenate([p.reshape(-1) for p in parts]).reshape(-1, x1 - x0)
    rgb = cv2.cvtColor(block, cv2.COLOR_YUV2RGB_I420)
    shrink = (x1 - x0) > size
    return cv2.resize(
        rgb, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    )


def crops(
    i420: np.ndarray, boxes: Sequence[Box], size: int, limit: int, min_side: float
) -> list[np.ndarray]:
    """One `size` x `size` RGB crop per (merged) box, at most `limit`; the whole picture when
    there is no box."""
    height, width = i420.shape[0] * 2 // 3, i420.shape[1]
    if not boxes:
        return [crop_rgb(i420, (0, 0, width & ~1, height & ~1), size)]
    return [
        crop_rgb(i420, crop_rect(b, width, height, min_side), size) for b in merged(boxes, limit)
    ]
