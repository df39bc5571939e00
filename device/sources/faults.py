"""Fault injection around any source, for reliability tests (`camera.faults`).

- drop_percent: that share of frames is lost, chosen by a seeded random generator; counted.
- stall_at / stall_seconds: at source time T, `read()` blocks for S seconds of real time and the
  frames of that span are lost (the frame clock jumps); counted in `stats.stalls`.
- disconnect_at: at source time T, `read()` raises SourceDisconnected, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from doorbell.config.camera import FaultsConfig
from doorbell.device.runtime.frame import Frame
from doorbell.device.sources.base import Source, SourceError


class SourceDisconnected(SourceError):
    """The camera went away (injected, or a live stream that cannot be reopened)."""


class FaultySource(Source):
    def __init__(
        self, inner: Source, faults: FaultsConfig, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        super().__init__()
        self.inner, self.faults, self.sleep = inner, faults, sleep
        self.stats = inner.stats
        self.name = inner.name
        self._rng = np.random.default_rng(faults.seed)
        self._stalled = self._disconnected = False

    def __getattr__(self, name: str) -> object:  # frame_count, scenario, target, ...
        return getattr(self.inner, name)

    # Source declares these as class attributes, so __getattr__ would never see them: forward
    # them explicitly, or a wrapped camera reports 0x0 and the recorder gets the wrong size.
    @property
    def width(self) -> int:  # type: ignore[override]
        return self.inner.width

    @property
    def height(self) -> int:  # type: ignore[override]
        return self.inner.height

    @property
    def fps(self) -> float:  # type: ignore[override]
        return self.inner.fps

    @property
    def lores_size(self) -> tuple[int, int]:  # type: ignore[override]
        return self.inner.lores_size

    @property
    def live(self) -> bool:  # type: ignore[override]
        return self.inner.live

    @property
    def start_wall(self) -> float:
        return self.inner.start_wall

    @start_wall.setter
    def start_wall(self, wall: float) -> None:
        self.inner.start_wall = wall

    def open(self) -> None:
        self.inner.open()

    def set_start_wall(self, wall: float) -> None:
        self.inner.set_start_wall(wall)

    def close(self) -> None:
        self.inner.close()

    def read(self) -> Frame | None:
        faults = self.faults
        while True:
            frame = self.inner.read()
            if frame is None:
                return None
            due = faults.disconnect_at is not None and frame.t >= faults.disconnect_at
            if due and not self._disconnected:
                self._disconnected = True
                self.stats.dropped += 1  # the frame in hand is lost with the connection
                raise SourceDisconnected(f"camera disconnected at {frame.t:.2f} s (injected)")
            if faults.stall_at is not None and not self._stalled and frame.t >= faults.stall_at:
                self._stalled = True
                self.stats.stalls += 1
                self.sleep(faults.stall_seconds)
                resume = frame.t + faults.stall_seconds
                while frame is not None and frame.t < resume:
                    self.stats.dropped += 1
                    frame = self.inner.read()
                if frame is None:
                    return None
            if faults.drop_percent and self._rng.random() * 100.0 < faults.drop_percent:
                self.stats.dropped += 1
                continue
            return frame
