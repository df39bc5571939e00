"""Privacy masks: polygons blacked out of every stored or sent image, before encoding."""

from __future__ import annotations

import cv2
import numpy as np

from doorbell.config.base import NamedPolygon
from doorbell.device.runtime.frame import BLACK_Y, NEUTRAL_CHROMA, planes

EDGE_COVER = 2  # pixels: the line drawn along each edge, a pixel either side of it


class PrivacyMask:
    """Rasterised once per image size; applying it is one masked copy per plane."""

    def __init__(self, masks: list[NamedPolygon]) -> None:
        self.masks = masks
        # Per image size: what is hidden in the luma plane, and in the (half-size) chroma planes.
        self._cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def __bool__(self) -> bool:
        return bool(self.masks)

    def replace(self, masks: list[NamedPolygon]) -> None:
        """New masks from any thread (the local page): the next image is masked by them, in every
        plane (both rasters live in one dict, dropped together)."""
        self.masks = list(masks)
        self._cache = {}  # after the masks: a raster made from the old ones lands in the old dict

    def _hidden(self, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        key = (width, height)
        cache, masks = self._cache, self.masks  # in this order, see replace()
        if key not in cache:
            hidden = np.zeros((height, width), np.uint8)
            scale = np.array([width, height], dtype=np.float64)
            for mask in masks:
                points = np.round(np.array(mask.points) * scale).astype(np.int32)
                cv2.fillPoly(hidden, [points], 255)
                # Rounding the corners to whole pixels moves an edge by up to half a pixel: cover
                # the pixels along it too, so a mask hides at least what it says, never less.
                cv2.polylines(hidden, [points], True, 255, thickness=EDGE_COVER)
            luma = hidden.astype(bool)
            # A chroma sample covers 2x2 pixels: it is hidden if any of them is.
            chroma = np.any(luma.reshape(height // 2, 2, width // 2, 2), axis=(1, 3))
            cache[key] = (luma, chroma)
        return cache[key]

    def apply_i420(self, yuv: np.ndarray, width: int | None = None) -> np.ndarray:
        """Black out the masked areas of an I420 picture in place, in all three planes (rows
        padded beyond `width`, as picamera2 gives them, are left alone)."""
        if self.masks:
            y, u, v = planes(yuv, width)
            luma, chroma = self._hidden(y.shape[1], y.shape[0])
            y[luma] = BLACK_Y
            u[chroma] = NEUTRAL_CHROMA
            v[chroma] = NEUTRAL_CHROMA
        return yuv
