"""The live picture and health as the page shows them, read from what the pipeline already
produced: the analysis thread's last frame, masked and JPEG-encoded by the recorder's snapshot
path, at most `web.live_fps` times a second however many browsers ask. Nothing here is called by
the camera's threads, so a slow page can never hold up a frame.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from doorbell.device.runtime.frame import Frame


def frame_picture(frame: Frame) -> np.ndarray:
    """The one place the page reads a frame's pixels: the main picture (I420), as the
    recorder's snapshot path takes it (it masks and converts to JPEG)."""
    return frame.main


@dataclass(frozen=True)
class LiveJpeg:
    seq: int  # the frame it shows
    jpeg: bytes


class LivePicture:
    def __init__(
        self,
        last_frame: Callable[[], Frame | None],
        masked_jpeg: Callable[[np.ndarray], bytes],
        fps: float,
        clock: Callable[[], float],
    ) -> None:
        self.last_frame, self.masked_jpeg = last_frame, masked_jpeg
        self.interval, self.clock = 1.0 / fps, clock
        self._current: LiveJpeg | None = None
        self._made_at = float("-inf")
        self._lock = threading.Lock()
        self.encoded = 0  # how many JPEGs were made (the benchmark reads it)

    def latest(self) -> LiveJpeg | None:
        """The newest frame as a masked JPEG; encoded again only for a newer frame and not more
        often than the live rate."""
        with self._lock:
            now = self.clock()
            current = self._current
            if current is not None and now - self._made_at < self.interval:
                return current
            frame = self.last_frame()
            if frame is None:
                return current
            if current is None or frame.seq != current.seq:
                self._current = LiveJpeg(frame.seq, self.masked_jpeg(frame_picture(frame)))
                self.encoded += 1
            self._made_at = now
            return self._current
