"""What a changed region's outline says about it.

A region is found by differencing, so it marks where the frame and the background disagree:
either something is in the frame that the background lacks (a visitor), or something is in the
background that the frame no longer shows (a ghost: a visitor who stood in view at start-up or
while the light changed, a car that drove off). The object's outline is where it is: sharp in
the frame for a visitor, sharp in the background for a ghost.
"""

from __future__ import annotations

import cv2
import numpy as np

_RIM = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
_EDGE = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_AROUND = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))


def area(contour: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """A region filled (uint8, 255 inside, box-sized)."""
    x, y, w, h = box
    region = np.zeros((h, w), np.uint8)
    cv2.drawContours(region, [contour], -1, 255, thickness=cv2.FILLED, offset=(-x, -y))
    return region


def rim(region: np.ndarray) -> np.ndarray:
    """The band just inside a filled region's contour (uint8, 255 in the band): where the
    object's own outline lies, inside the dilation that joined its pieces. (Outside the box
    counts as outside the region: where the region fills its box up to a side, that side is its
    outline.)"""
    core = cv2.erode(region, _RIM, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return cv2.subtract(region, core)


def gradient(image: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """Gradient magnitude in levels per px (uint8): |dx| + |dy| of a 3x3 Sobel, over 8; times
    `gain` before rounding (a dim picture's outlines, brought to full light)."""
    gx, gy = cv2.spatialGradient(image)  # (both 3x3 Sobels in one pass)
    weight = 0.125 * gain
    return cv2.addWeighted(
        cv2.convertScaleAbs(gx), weight, cv2.convertScaleAbs(gy), weight, 0, dtype=cv2.CV_8U
    )


def edges(image: np.ndarray, where: np.ndarray) -> float:
    """Mean gradient magnitude (levels per px) where `where` is set."""
    return float(cv2.mean(gradient(image), mask=where)[0])


def ghosts(
    current: np.ndarray,
    background: np.ndarray,
    diff: np.ndarray,
    threshold: float,
    boxes: list[tuple[int, int, int, int]],
    ratio: float,
    min_edge: float,
) -> list[bool]:
    """For each region's box (x, y, w, h) in these uint8 arrays (`diff` = |current -
    background|): is the edge of the difference an outline of the background's, at least
    `min_edge` levels/px on average, and `ratio` times sharper there than in the frame and than
    the background's own texture around it? (A blur in the frame, an insect on the lens, is soft
    in the frame but has no crisp outline in the background.)
    The difference is thresholded once for all the boxes (a visitor standing at the door is
    several regions, issue 27's round 16); the rest stays each box's own crop, so a box gets the
    verdict it gets alone: an erosion or a Sobel sees a crop's sides where a larger array would
    show it the pixels beyond."""
    _, inside = cv2.threshold(diff, threshold, 255, cv2.THRESH_BINARY)
    found = []
    for x, y, w, h in boxes:
        window = (slice(y, y + h), slice(x, x + w))
        found.append(
            _outline_behind(current[window], background[window], inside[window], ratio, min_edge)
        )
    return found


def _outline_behind(
    current: np.ndarray, background: np.ndarray, inside: np.ndarray, ratio: float, min_edge: float
) -> bool:
    """`ghosts` for crops of one box, `inside` (255) where the difference exceeds the
    threshold."""
    if min(current.shape) < 3:
        return False
    border = cv2.subtract(inside, cv2.erode(inside, _EDGE))
    if cv2.countNonZero(border) < 8:
        return False
    sharp = gradient(background)  # (made once: the edge and around it)
    before = cv2.mean(sharp, mask=border)[0]
    if before < min_edge or before <= ratio * max(edges(current, border), 1.0):
        return False
    around = cv2.bitwise_not(cv2.dilate(inside, _AROUND))
    if cv2.countNonZero(around) < 8:
        return True  # nothing around to compare with
    return before > ratio * max(cv2.mean(sharp, mask=around)[0], 1.0)


def mostly_soft(sharp: np.ndarray, where: np.ndarray) -> bool:
    """Is a patch soft where `where` is set: fewer than 10 % of those pixels are `sharp` (have
    a gradient of at least the limit: the 90th percentile is below it)?"""
    total = cv2.countNonZero(where)
    if total == 0:
        return False
    # (sharp pixels counted from their mean where set, 255 each: one call for two)
    return round(cv2.mean(sharp, mask=where)[0] * total / 255.0) < 0.1 * total
