"""Fragments the camera's side fills on its own thread, for the recorder's thread to take.

Both ways of recording without our encoder work like this: picamera2's encoder thread hands over
what the Pi encoded (`Picamera2Stream`), the capture thread hands over the camera's own packets
(`PassthroughStream`). Each muxes into a `FragmentRing` under this lock; the recorder reads the
ring and takes the fragments completed since it last asked (`feed`).
"""

from __future__ import annotations

import logging
import threading
from collections import deque

import numpy as np

from doorbell.device.recording.fragment_ring import FragmentRing
from doorbell.device.recording.fragments import Fragment

log = logging.getLogger(__name__)


class CameraFragments:
    """The `EncodedStream` side of a ring filled by another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the camera's thread writes, the recorder's reads
        self._fragments: FragmentRing | None = None
        self._done: list[Fragment] = []
        self.dropped = 0  # completed fragments the recorder's thread never came for

    def _completed(self, fragments: list[Fragment]) -> None:
        """Under the lock: fragments completed on the camera's side, kept for the recorder's
        thread. Bounded by the ring: a recorder stalled longer than the ring (a hung write) can
        no longer use what has left it, and holding it would grow without end."""
        assert self._fragments is not None
        self._done += fragments
        over = len(self._done) - len(self._fragments.ring)
        if over > 0:
            if not self.dropped:
                log.warning("recording stalled: fragments dropped while it does not take them")
            self.dropped += over
            del self._done[:over]

    @property
    def ring(self) -> deque[Fragment]:
        with self._lock:
            return deque(self._fragments.ring) if self._fragments else deque()

    @property
    def init_segment(self) -> bytes:
        with self._lock:
            return self._fragments.init_segment if self._fragments else b""

    @property
    def ring_bytes(self) -> int:
        with self._lock:
            return self._fragments.ring_bytes if self._fragments else 0

    def feed(self, yuv: np.ndarray, t: float) -> list[Fragment]:
        """The frame was encoded on the camera's side: hand over what it completed since."""
        with self._lock:
            done, self._done = self._done, []
        return done

    def _close_ring(self) -> list[Fragment]:
        """Under the lock: what is left, the last partial interval written out."""
        done, self._done = self._done, []
        if self._fragments is not None:
            done += self._fragments.close()
            self._fragments = None
        return done
