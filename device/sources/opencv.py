"""OpenCV capture: a V4L2 camera index, an RTSP/HTTP URL, or a video file (`file:PATH`).

A stream that stops delivering is reopened with backoff (1 s doubling to
`camera.reopen_max_seconds`); each reopen is counted in `stats.reopens`. A network stream that
stalls is cut by FFmpeg's read timeout (`READ_TIMEOUT_MS`) and so counts as a drop. A file
simply ends (or starts over with `camera.loop`).

The capture is read on the capture thread; `close()` may come from another (at shutdown): it
ends a backoff wait at once, and waits for a read in progress (at most the read timeout) before
releasing the capture, which OpenCV does not allow during a read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import cv2

from config.camera import CameraConfig
from device.frame import Frame
from device.sources.base import Source, SourceError

log = logging.getLogger(__name__)

# A stalled RTSP/HTTP stream would block read() forever; FFmpeg gives up after this long.
OPEN_TIMEOUT_MS = 10000
READ_TIMEOUT_MS = 5000


class OpenCvSource(Source):
    name = "opencv"

    def __init__(
        self,
        target: str,
        camera: CameraConfig,
        start_wall: float | None = None,
        is_file: bool = False,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        super().__init__()
        self.target = target
        self.camera = camera
        self.is_file = is_file
        self.live = not is_file
        self.lores_size = (camera.lores_width, camera.lores_height)
        self.start_wall = time.time() if start_wall is None else start_wall
        self._closed = threading.Event()
        self._lock = threading.Lock()  # held while the capture is read, swapped or released
        self.sleep = sleep or self._closed.wait  # a backoff wait that close() cuts short
        self._capture: cv2.VideoCapture | None = None
        self._seq = 0
        self._file_seq = 0
        self._t0: float | None = None
        self.frame_count: int | None = None

    def _open_capture(self) -> cv2.VideoCapture:
        if self.target.isdigit():
            capture = cv2.VideoCapture(int(self.target))
        elif "://" in self.target:
            timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS]
            timeouts += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
            capture = cv2.VideoCapture(self.target, cv2.CAP_FFMPEG, timeouts)
        else:
            capture = cv2.VideoCapture(self.target)
        if not capture.isOpened():
            raise SourceError(f"cannot open video {self.target!r}")
        if not self.is_file:
            if self.camera.width and self.camera.height:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.camera.width)
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.camera.height)
            if self.camera.fps:
                capture.set(cv2.CAP_PROP_FPS, self.camera.fps)
        return capture

    def open(self) -> None:
        self._closed.clear()
        self._capture = self._open_capture()
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = self.camera.fps or (fps if 1.0 <= fps <= 120.0 else 15.0)
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if self.is_file:
            count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
            self.frame_count = count if count > 0 else None

    def read(self) -> Frame | None:
        if self._capture is None and not self._closed.is_set():
            self.open()
        ok, image = self._read()
        if not ok and self.is_file and self.camera.loop and self._file_seq > 0:
            with self._lock:
                if self._capture is not None:
                    self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._file_seq = 0
            ok, image = self._read()
        if not ok and not self.is_file:
            image = self._reopen()
            ok = image is not None
        return self._frame(image) if ok else None

    def _read(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._capture is None:  # closed
                return False, None
            return self._capture.read()

    def _reopen(self):  # type: ignore[no-untyped-def]
        """Reopen a stalled or dropped stream with backoff, until it delivers again (or the
        source is closed from another thread: then None, the end of the stream)."""
        delay = 1.0
        while not self._closed.is_set():
            log.warning("camera %s stopped delivering; reopening in %.0f s", self.target, delay)
            self.sleep(delay)
            if self._closed.is_set():
                break
            self.stats.reopens += 1
            try:
                capture = self._open_capture()
            except SourceError:
                delay = min(delay * 2, self.camera.reopen_max_seconds)
                continue
            with self._lock:
                old, self._capture = self._capture, capture
                if old is not None:
                    old.release()
                if self._closed.is_set():  # closed while this one was opening
                    self._capture = None
                    capture.release()
                    break
            ok, image = self._read()
            if ok:
                log.info("camera %s is back", self.target)
                return image
            delay = min(delay * 2, self.camera.reopen_max_seconds)
        return None

    def _frame(self, image) -> Frame:  # type: ignore[no-untyped-def]
        if self.is_file:
            t = self._seq / self.fps  # a file's own clock: frame number over its frame rate
            wall = self.start_wall + t
        else:
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            t, wall = now - self._t0, time.time()
        luma = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        lores = cv2.resize(luma, self.lores_size, interpolation=cv2.INTER_AREA)
        frame = Frame(self._seq, t, wall, image, lores)
        self._seq += 1
        self._file_seq += 1
        self.stats.frames += 1
        return frame

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            capture, self._capture = self._capture, None
            if capture is not None:
                capture.release()
