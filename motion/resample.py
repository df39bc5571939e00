"""Area downscaling at OpenCV's fast path, and the size the detector analyses."""

from __future__ import annotations

import cv2
import numpy as np

# The per-pixel work is done at this width at most: the lores frame is halved (2x2 area
# means, OpenCV's fastest resize) while at least twice as wide, so 320x240 is analysed at
# 160x120, a quarter of the pixels. Boxes and zones are fractions of the frame either way.
WORK_WIDTH = 160


def work_size(size: tuple[int, int]) -> tuple[int, int]:
    """The analysis size for lores frames of `size`: halved while at least 2 x WORK_WIDTH."""
    width, height = size
    while width >= 2 * WORK_WIDTH and height >= 2:
        width, height = width // 2, height // 2
    return width, height


def downscale(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Halve (2x2 area averages, OpenCV's fastest resize) while at least twice too big, then
    area-resample the rest: a quarter of one area resize from full HD, a quarter of a Gaussian
    pyramid's cost from 640x480, and clean enough before a blur."""
    width, height = size
    while image.shape[1] >= 2 * width and image.shape[0] >= 2 * height:
        half = (image.shape[1] // 2, image.shape[0] // 2)
        image = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
    if image.shape[1::-1] == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
