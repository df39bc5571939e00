"""The main stream as encoded fragments: what the recorder cuts clips from and the page's live
video plays. `FragmentRing` is one (libx264 in Python, or the Pi's hardware encoder feeding it)."""

from __future__ import annotations

from collections import deque
from typing import Protocol

import numpy as np

from doorbell.device.recording.fragments import Fragment


class EncodedStream(Protocol):
    """The main stream as encoded fragments: what the recorder cuts clips from."""

    @property
    def ring(self) -> deque[Fragment]: ...

    @property
    def init_segment(self) -> bytes: ...

    @property
    def ring_bytes(self) -> int: ...

    def feed(self, image: np.ndarray, t: float) -> list[Fragment]:
        """Offer the frame shown at `t`; return the fragments completed since the last call."""
        ...

    def close(self) -> list[Fragment]: ...
