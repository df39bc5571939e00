"""Paces a file or generator to real time (or N times faster); live cameras pace themselves."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal


class Pacer:
    def __init__(
        self,
        speed: float | Literal["max"],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.speed = speed
        self.clock, self.sleep = clock, sleep
        self._origin: tuple[float, float] | None = None  # (frame t, clock) that pins the schedule

    def start(self) -> None:
        """Frame time 0 is now: pinned when the source's `start_wall` is, so a frame is shown
        at the wall time it carries. Without it the schedule starts when the first frame is
        read, late by however long that took (rendering it, the device's own start-up), and
        every frame after it is shown that much later than its wall time says."""
        self._origin = (0.0, self.clock())

    def wait(self, frame_t: float) -> None:
        """Sleep until the clock has advanced as far as frame time has, divided by speed."""
        if self.speed == "max":
            return
        now = self.clock()
        if self._origin is None:
            self._origin = (frame_t, now)
            return
        due = self._origin[1] + (frame_t - self._origin[0]) / self.speed
        if due > now:
            self.sleep(due - now)
