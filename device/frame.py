"""The unit that flows from a camera source to everything downstream."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame.

    `t` is the source's own monotonic clock in seconds (frame time, never the host clock), so a
    simulation can run faster than real time and stay deterministic. `wall` is the wall-clock time
    (Unix seconds) the frame stands for. `main` is the full-resolution BGR image for recording;
    `lores` is the small luma (Y) image for analysis, like picamera2's lores stream.
    """

    seq: int
    t: float
    wall: float
    main: np.ndarray
    lores: np.ndarray
