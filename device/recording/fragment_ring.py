"""H.264 packets muxed into fragmented MP4 in memory, a fragment per keyframe, the newest kept.

Whoever encodes (libx264 in Python, or the Pi's hardware encoder through picamera2) hands its
packets here with the frame time of each; the recorder cuts clips from the ring this keeps.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import av

from doorbell.device.recording.fragments import BoxStream, Fragment

FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}


class FragmentRing:
    """An MP4 muxer writing into memory, cut into fragments; keeps `ring_seconds` of them.

    Memory is about (ring_seconds + two keyframe intervals) x bitrate / 8: the ring keeps whole
    intervals back past `ring_seconds`, and the muxer holds the one in progress. A camera whose
    keyframes are 25 s apart passed through costs ~12 MB more than one at 2 s (768x576,
    `benchmarks/memory_breakdown.py --gop 25`).
    """

    def __init__(self, ring_seconds: float) -> None:
        self._out = BoxStream()
        self.container: Any = av.open(self._out, "w", format="mp4", options=FRAGMENTED)
        self.ring_seconds = ring_seconds
        self.ring: deque[Fragment] = deque()
        self.frames = 0
        self._gops: deque[Fragment] = deque()  # keyframe intervals not yet cut into a fragment

    @property
    def init_segment(self) -> bytes:
        return bytes(self._out.init)

    @property
    def ring_bytes(self) -> int:
        return sum(len(f.data) for f in self.ring) + self._out.pending

    def mux(self, packet: Any, t: float) -> list[Fragment]:
        """Mux one packet of the frame shown at `t`; return the fragments it completed."""
        if packet.is_keyframe:
            self._gops.append(Fragment(bytearray(), 0, t))
        elif not self._gops:
            return []  # a stream joined mid-interval: nothing decodes before its first keyframe
        self._gops[-1].frames += 1
        self.frames += 1
        self.container.mux(packet)
        return self._collect()

    def _collect(self) -> list[Fragment]:
        done = []
        for data in self._out.take():
            fragment = self._gops.popleft()
            fragment.data = data
            self.ring.append(fragment)
            done.append(fragment)
        # Kept by time, not count: an encoder may add keyframes of its own (a scene cut).
        ring = self.ring
        while len(ring) > 1 and ring[1].first_t <= ring[-1].first_t - self.ring_seconds:
            ring.popleft()
        return done

    def close(self) -> list[Fragment]:
        """Write out the last, partial interval."""
        self.container.close()
        return self._collect()
