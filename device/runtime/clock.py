"""The host's clocks, injected: `Device` and `Pipeline` read time only through a `Clock`, so a
test can drive them and nothing else in the runtime reads `time` behind its back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Clock:
    monotonic: Callable[[], float] = time.monotonic  # health: uptime, fps, stalls
    wall: Callable[[], float] = time.time  # what a simulated frame's wall time counts from


SYSTEM = Clock()
