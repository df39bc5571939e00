"""The Raspberry Pi camera through picamera2: a main stream to record and a lores Y plane to
analyse, as picamera2's own motion examples do. Imported only when chosen."""

from __future__ import annotations

import time
from typing import Any

from config.camera import CameraConfig
from device.frame import Frame
from device.sources.base import Source, SourceError

OFF_PI = (
    "picamera2 needs Raspberry Pi OS with python3-picamera2; use --camera synthetic or file:..."
)


class Picamera2Source(Source):
    name = "picamera2"
    live = True

    def __init__(self, camera: CameraConfig) -> None:
        super().__init__()
        self.camera = camera
        self.width, self.height = camera.width or 1280, camera.height or 720
        self.fps = camera.fps or 15.0
        self.lores_size = (camera.lores_width, camera.lores_height)
        self.picam: Any = None
        self._seq = 0
        self._t0: float | None = None

    def open(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise SourceError(OFF_PI) from None
        try:
            # Picamera2() itself fails when no camera is attached (IndexError in picamera2).
            self.picam = Picamera2()
            config = self.picam.create_video_configuration(
                main={"size": (self.width, self.height), "format": "RGB888"},
                lores={"size": self.lores_size, "format": "YUV420"},
                controls={"FrameRate": self.fps},
            )
            self.picam.configure(config)
            if self.camera.exposure_us:
                self.picam.set_controls({"ExposureTime": self.camera.exposure_us})
            self.picam.start()
        except Exception as exc:  # whatever libcamera raises, the user gets one line
            self.close()
            detail = str(exc) or type(exc).__name__
            raise SourceError(
                f"picamera2: cannot start the camera ({detail}); is it connected?"
            ) from None

    def read(self) -> Frame | None:
        lores_yuv = self.picam.capture_array("lores")
        main = self.picam.capture_array("main")
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        height = self.lores_size[1]
        lores = lores_yuv[:height, : self.lores_size[0]]  # the Y plane of YUV420
        frame = Frame(self._seq, now - self._t0, time.time(), main, lores)
        self._seq += 1
        self.stats.frames += 1
        return frame

    def close(self) -> None:
        if self.picam is not None:
            picam, self.picam = self.picam, None
            try:
                picam.stop()
            finally:
                picam.close()
