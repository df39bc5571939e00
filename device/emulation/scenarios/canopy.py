"""Leaves filling most of the picture, swaying in the wind, against an overexposed sky.

This is how foliage looks to a cheap camera (issue 13): fine leaf texture with gaps through
which the sky burns out white, every part of it swaying on its own (the phase of the sway drifts
across the picture, so it bends rather than slides), by several pixels, with gusts. Only a
clearing in the middle (the path and the porch) is free of it. The canopy is drawn behind the
actors: a visitor walks in front of the hedge.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from doorbell.device.emulation.scenarios.porch import texture

# The clearing, as a polygon in normalised coordinates: the path from the street to the porch.
CLEARING = ((0.36, 1.0), (0.66, 1.0), (0.58, 0.3), (0.44, 0.3))
SKY = 250.0  # what the gaps between leaves show: the sky, nearly clipped white
GUST_PERIODS = 5.3  # the wind's strength swings over this many sway periods


class Canopy:
    """The canopy layer of one scenario: made once, displaced per frame."""

    def __init__(self, width: int, height: int, seed: int) -> None:
        rng = np.random.default_rng([seed, 13])
        shape = (height, width)
        leaf_scale = max(2, width // 200)  # fine: a leaf is a few lores pixels at most
        shade = texture(rng, shape, leaf_scale, 45.0) + texture(rng, shape, 8 * leaf_scale, 25.0)
        gaps = texture(rng, shape, 2 * leaf_scale, 1.0) > 0.9  # about a fifth of the canopy
        image = np.empty((height, width, 3), np.float32)
        image[:] = np.array((45, 105, 60), np.float32)
        image += shade[..., None]
        image[gaps] = SKY
        cover = np.full(shape, 255, np.uint8)
        points = np.array([(x * (width - 1), y * (height - 1)) for x, y in CLEARING], np.int32)
        cv2.fillPoly(cover, [points], 0)
        alpha = cv2.GaussianBlur(cover, (0, 0), max(1.0, width / 160))
        # leaves and their cover in one BGRA image: displaced in one pass
        self.image = cv2.merge([*cv2.split(np.clip(image, 0, 255).astype(np.uint8)), alpha])
        # Each part's phase of the sway, smooth across the picture (radians): worked out on a
        # grid an eighth of the size and enlarged, as smooth and 64 times cheaper.
        coarse = (max(2, height // 8), max(2, width // 8))
        self._phase = texture(rng, coarse, max(2, width // 64), 2.0)
        self._phase_y = texture(rng, coarse, max(2, width // 64), 2.0)
        self._size = (width, height)
        self._grid_x, self._grid_y = np.meshgrid(
            np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
        )

    def draw(self, frame: np.ndarray, t: float, amount: float, period: float) -> None:
        """Composite the canopy, swayed to time `t` by up to `amount` px, into `frame`."""
        gust = 0.65 + 0.35 * math.sin(2 * math.pi * t / (GUST_PERIODS * period))
        angle = np.float32(2 * math.pi * t / period)
        dx = np.sin(self._phase + angle) * np.float32(amount * gust)
        dy = np.cos(self._phase_y + angle * np.float32(1.3)) * np.float32(0.4 * amount * gust)
        map_x = cv2.add(self._grid_x, cv2.resize(dx, self._size, interpolation=cv2.INTER_LINEAR))
        map_y = cv2.add(self._grid_y, cv2.resize(dy, self._size, interpolation=cv2.INTER_LINEAR))
        # fixed-point maps: several times faster to remap with, 1/32 px is fine enough
        fixed, fraction = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
        layer = cv2.remap(
            self.image, fixed, fraction, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        weight = cv2.extractChannel(layer, 3).astype(np.float32)
        weight *= np.float32(1 / 255)
        leaves = cv2.cvtColor(layer, cv2.COLOR_BGRA2BGR)
        frame[:] = cv2.blendLinear(leaves, frame, weight, 1.0 - weight)
