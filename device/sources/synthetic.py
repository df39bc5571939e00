"""A generated porch scene: the default camera off a Pi (the scenario engine deepens this)."""

from __future__ import annotations

import time

import cv2
import numpy as np

from config.camera import CameraConfig
from device.frame import Frame
from device.sources.base import Source


class SyntheticSource(Source):
    """A porch where a visitor walks up every ~30 s, over sensor noise. Deterministic per seed."""

    name = "synthetic"

    def __init__(self, scenario: str | None, camera: CameraConfig, start_wall: float | None = None):
        super().__init__()
        self.scenario = scenario or "porch"
        self.width = camera.width or 640
        self.height = camera.height or 480
        self.fps = camera.fps or 15.0
        self.lores_size = (camera.lores_width, camera.lores_height)
        self._start_wall = time.time() if start_wall is None else start_wall
        self._seq = 0
        self._rng = np.random.default_rng(0)
        self._background = self._draw_background()

    def _draw_background(self) -> np.ndarray:
        w, h = self.width, self.height
        img = np.zeros((h, w, 3), np.uint8)
        img[: h // 3] = (200, 170, 140)  # sky
        img[h // 3 :] = (60, 130, 70)  # lawn
        cv2.rectangle(img, (w * 2 // 5, h // 6), (w * 3 // 5, h * 2 // 3), (40, 60, 110), -1)
        cv2.fillPoly(
            img,
            [
                np.array(
                    [
                        [w // 2 - 20, h * 2 // 3],
                        [w // 2 + 20, h * 2 // 3],
                        [w // 2 + 120, h],
                        [w // 2 - 120, h],
                    ]
                )
            ],
            (150, 150, 150),
        )
        return img

    def open(self) -> None:
        self._seq = 0

    def read(self) -> Frame | None:
        t = self._seq / self.fps
        img = self._background.copy()
        phase = t % 30.0
        if 10.0 <= phase < 18.0:  # a visitor walks up the path to the door and back
            k = 1.0 - abs(phase - 14.0) / 4.0
            size = int(self.height * (0.25 + 0.35 * k))
            cx = self.width // 2
            bottom = int(self.height * (1.0 - 0.3 * k))
            cv2.rectangle(
                img, (cx - size // 5, bottom - size), (cx + size // 5, bottom), (30, 30, 180), -1
            )
        noise = self._rng.integers(-4, 5, size=img.shape, dtype=np.int16)
        img = np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        luma = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        lores = cv2.resize(luma, self.lores_size, interpolation=cv2.INTER_AREA)
        frame = Frame(self._seq, t, self._start_wall + t, img, lores)
        self._seq += 1
        self.stats.frames += 1
        return frame

    def close(self) -> None:
        pass
