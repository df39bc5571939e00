"""The Raspberry Pi camera through picamera2: a YUV420 main stream to record (I420, taken as it
comes) and a lores Y plane to analyse, as picamera2's own motion examples do. Imported only when
chosen.

Frame times come from the sensor's own timestamps, so they match the times picamera2's encoder
puts on what it encodes (see `device.recording.picamera2_stream`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from doorbell.config.camera import CameraConfig
from doorbell.device.runtime.frame import Frame, black_out, packed
from doorbell.device.sources.base import Source, SourceError
from doorbell.device.sources.faults import SourceDisconnected

log = logging.getLogger(__name__)
STALL_SECONDS = 2.0

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
        self._t0_ns: int | None = None  # sensor timestamp of frame time 0
        self._burn_in: Callable[[np.ndarray], object] | None = None

    def open(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise SourceError(OFF_PI) from None
        try:
            # Picamera2() itself fails when no camera is attached (IndexError in picamera2).
            self.picam = Picamera2()
            config = self.picam.create_video_configuration(
                main={"size": (self.width, self.height), "format": "YUV420"},
                lores={"size": self.lores_size, "format": "YUV420"},
                controls={"FrameRate": self.fps},
            )
            self.picam.configure(config)
            if self.camera.exposure_us:
                self.picam.set_controls({"ExposureTime": self.camera.exposure_us})
            self.picam.pre_callback = self._before_use
            self.picam.start()
        except Exception as exc:  # whatever libcamera raises, the user gets one line
            self.close()
            detail = str(exc) or type(exc).__name__
            raise SourceError(
                f"picamera2: cannot start the camera ({detail}); is it connected?"
            ) from None

    def _before_use(self, request: Any) -> None:
        """picamera2's camera thread, for each frame before the encoder or `read` sees it.

        An exception here would stop picamera2's camera thread, so none escapes; and if the mask
        cannot be applied the whole picture is blacked out: what is under a mask is never stored.
        """
        try:
            self.frame_time(request.get_metadata().get("SensorTimestamp"))
        except Exception:
            log.exception("picamera2: frame without a usable SensorTimestamp")
        if self._burn_in is None:
            return
        from picamera2 import MappedArray

        with MappedArray(request, "main") as mapped:
            try:
                self._burn_in(mapped.array)
            except Exception:
                log.exception("picamera2: privacy mask failed; frame blacked out")
                black_out(mapped.array)

    def burn_in(self, paint: Callable[[np.ndarray], object]) -> None:
        """From now on `paint` (the privacy masks) changes every main frame (YUV420, rows padded
        to picamera2's stride) in place on picamera2's camera thread, before its encoders or
        `read` see it."""
        self._burn_in = paint

    def frame_time(self, sensor_ns: int | None) -> float:
        """Frame time of a sensor timestamp (ns): 0 at the first frame. picamera2's encoder
        counts the same clock, so what it encodes lines up with the frames read."""
        if sensor_ns is None:
            sensor_ns = time.monotonic_ns()
        if self._t0_ns is None:
            self._t0_ns = sensor_ns
        return (sensor_ns - self._t0_ns) / 1e9

    def read(self) -> Frame | None:
        try:  # main and lores of the same frame
            request = self.picam.capture_request(wait=STALL_SECONDS)
        except TimeoutError:  # the watchdog sees frames stop; the next read tries again
            raise SourceDisconnected(f"picamera2: no frame for {STALL_SECONDS:g} s") from None
        try:
            main = packed(request.make_array("main"), self.width)  # rows of `width`, no stride
            lores_yuv = request.make_array("lores")
            t = self.frame_time(request.get_metadata().get("SensorTimestamp"))
        finally:
            request.release()
        height = self.lores_size[1]
        lores = lores_yuv[:height, : self.lores_size[0]]  # the Y plane of YUV420
        frame = Frame(self._seq, t, time.time(), main, lores)
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
