"""Privacy masks: polygons blacked out of every stored or sent image, before encoding."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from doorbell.config.base import NamedPolygon
from doorbell.device.runtime.frame import BLACK_Y, NEUTRAL_CHROMA, planes

EDGE_COVER = 2  # pixels: the line drawn along each edge, a pixel either side of it


@dataclass(frozen=True)
class Hidden:
    """What a mask hides in one image size, within the box around it: the rest of the picture
    is not looked at (a corner mask is 4 % of it; a whole-picture boolean select cost ~0.1 ms a
    frame at 768x576, 1 % of re-encoding's CPU)."""

    luma: np.ndarray  # bool, the luma pixels of the box, twice the chroma box's rows and columns
    chroma: np.ndarray  # bool, the chroma samples of the box
    chroma_box: tuple[slice, slice]  # rows and columns of the box in the chroma planes

    @classmethod
    def around(cls, luma: np.ndarray, chroma: np.ndarray) -> Hidden:
        rows, cols = np.nonzero(chroma)
        if not rows.size:
            return cls(luma[:0, :0], chroma[:0, :0], (slice(0, 0), slice(0, 0)))
        top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        # Every hidden luma pixel lies in a hidden chroma sample's 2x2: inside twice this box.
        return cls(
            luma[2 * top : 2 * bottom, 2 * left : 2 * right],
            chroma[top:bottom, left:right],
            (slice(int(top), int(bottom)), slice(int(left), int(right))),
        )


class PrivacyMask:
    """Rasterised once per image size; applying it is one masked copy per plane."""

    def __init__(self, masks: list[NamedPolygon]) -> None:
        self.masks = masks
        # Per image size: what is hidden in the luma plane, and in the (half-size) chroma planes.
        self._cache: dict[tuple[int, int], Hidden] = {}

    def __bool__(self) -> bool:
        return bool(self.masks)

    def replace(self, masks: list[NamedPolygon]) -> None:
        """New masks from any thread (the local page): the next image is masked by them, in every
        plane (both rasters live in one dict, dropped together)."""
        self.masks = list(masks)
        self._cache = {}  # after the masks: a raster made from the old ones lands in the old dict

    def _hidden(self, width: int, height: int) -> Hidden:
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
            cache[key] = Hidden.around(luma, chroma)
        return cache[key]

    def apply_i420(self, yuv: np.ndarray, width: int | None = None) -> np.ndarray:
        """Black out the masked areas of an I420 picture in place, in all three planes (rows
        padded beyond `width`, as picamera2 gives them, are left alone)."""
        if self.masks:
            y, u, v = planes(yuv, width)
            hidden = self._hidden(y.shape[1], y.shape[0])
            rows, cols = hidden.chroma_box
            y[2 * rows.start : 2 * rows.stop, 2 * cols.start : 2 * cols.stop][hidden.luma] = BLACK_Y
            u[rows, cols][hidden.chroma] = NEUTRAL_CHROMA
            v[rows, cols][hidden.chroma] = NEUTRAL_CHROMA
        return yuv
