"""Zone polygons (normalised) rasterised once for a given analysis size."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from doorbell.config.base import NamedPolygon


@dataclass(frozen=True)
class ZoneMask:
    name: str
    mask: np.ndarray  # uint8, 255 inside
    pixels: int


def rasterise(zones: list[NamedPolygon], size: tuple[int, int]) -> list[ZoneMask]:
    """One mask per zone; no zones means one zone, `all`, covering the frame."""
    width, height = size
    if not zones:
        full = np.full((height, width), 255, np.uint8)
        return [ZoneMask("all", full, width * height)]
    out = []
    scale = np.array([width - 1, height - 1], dtype=np.float64)
    for zone in zones:
        mask = np.zeros((height, width), np.uint8)
        points = np.round(np.array(zone.points) * scale).astype(np.int32)
        cv2.fillPoly(mask, [points], 255)
        out.append(ZoneMask(zone.name, mask, max(1, cv2.countNonZero(mask))))
    return out


def watched(zones: list[ZoneMask]) -> np.ndarray:
    """The union of all zones: where motion is looked for at all."""
    union = zones[0].mask.copy()
    for zone in zones[1:]:
        cv2.bitwise_or(union, zone.mask, dst=union)
    return union
