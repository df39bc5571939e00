"""Frame differencing against a running-average background, on the lores luma image."""

from __future__ import annotations

import cv2
import numpy as np

from config.motion import MotionConfig
from motion.types import Box, MotionResult


class MotionDetector:
    """Arrays and timestamps in, MotionResult out. Holds only its background model."""

    def __init__(self, cfg: MotionConfig, size: tuple[int, int]) -> None:
        self.cfg = cfg
        self.width, self.height = size
        self._background: np.ndarray | None = None
        self._zone_masks = self._build_zone_masks()
        self._kernel = np.ones((3, 3), np.uint8)

    def _build_zone_masks(self) -> dict[str, np.ndarray]:
        if not self.cfg.zones:
            return {"all": np.full((self.height, self.width), 255, np.uint8)}
        masks = {}
        scale = np.array([self.width - 1, self.height - 1], dtype=np.float64)
        for zone in self.cfg.zones:
            mask = np.zeros((self.height, self.width), np.uint8)
            pts = np.round(np.array(zone.points) * scale).astype(np.int32)
            cv2.fillPoly(mask, [pts], 255)
            masks[zone.name] = mask
        return masks

    def reset(self) -> None:
        self._background = None

    def process(self, luma: np.ndarray, t: float) -> MotionResult:
        blurred = cv2.GaussianBlur(luma, (self.cfg.blur, self.cfg.blur), 0)
        if self._background is None:
            self._background = blurred.astype(np.float32)
            return MotionResult(t, 0.0, False, float(self.cfg.threshold))
        diff = cv2.absdiff(blurred, cv2.convertScaleAbs(self._background))
        _, changed = cv2.threshold(diff, self.cfg.threshold, 255, cv2.THRESH_BINARY)
        changed = cv2.dilate(changed, self._kernel, iterations=2)
        cv2.accumulateWeighted(blurred, self._background, self.cfg.learning_rate)
        best, zones = 0.0, []
        for name, mask in self._zone_masks.items():
            inside = cv2.countNonZero(cv2.bitwise_and(changed, mask))
            pct = 100.0 * inside / max(1, cv2.countNonZero(mask))
            best = max(best, pct)
            if pct >= self.cfg.min_area:
                zones.append(name)
        boxes = self._boxes(changed) if zones else ()
        return MotionResult(t, best, bool(zones), float(self.cfg.threshold), boxes, tuple(zones))

    def _boxes(self, changed: np.ndarray) -> tuple[Box, ...]:
        count, _, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
        min_px = self.width * self.height * self.cfg.min_area / 100.0 / 4
        boxes = []
        for x, y, w, h, area in stats[1:count]:
            if area >= min_px:
                boxes.append(Box(x / self.width, y / self.height, w / self.width, h / self.height))
        return tuple(boxes)
