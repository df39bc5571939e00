"""The regions of what changed: the outer contours of a binary mask, each with its box."""

from __future__ import annotations

import cv2
import numpy as np

from doorbell.motion.stationary import PixelBox

Region = tuple[np.ndarray, PixelBox]  # (contour, box)


def large_regions(changed: np.ndarray, smallest: int) -> list[Region]:
    """Regions of at least `smallest` pixels; smaller ones (rain, snow) are erased from
    `changed` (uint8, written in place)."""
    contours, _ = cv2.findContours(changed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    kept, dropped = [], []
    area, bounds = cv2.contourArea, cv2.boundingRect
    for contour in contours:
        # (a contour's area is under its box's: the area alone decides)
        if area(contour) < smallest:
            dropped.append(contour)
        else:
            x, y, w, h = bounds(contour)
            kept.append((contour, (x, y, w, h)))
    if dropped:
        cv2.drawContours(changed, dropped, -1, 0, thickness=cv2.FILLED)
    return kept


def around(boxes: list[PixelBox]) -> tuple[int, int, int, int]:
    """The box around pixel boxes (one at least), as x0, y0, x1, y1 (ends exclusive). (A plain
    loop: four generator expressions cost 2 us hot, more in the pipeline.)"""
    x0, y0, w, h = boxes[0]
    x1, y1 = x0 + w, y0 + h
    for x, y, w, h in boxes[1:]:
        if x < x0:
            x0 = x
        if y < y0:
            y0 = y
        if x + w > x1:
            x1 = x + w
        if y + h > y1:
            y1 = y + h
    return x0, y0, x1, y1
