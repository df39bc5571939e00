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
        self._origin: tuple[float, float] | None = None  # (frame t, clock) of the first frame

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
