"""A per-name token bucket: a flood on one command topic cannot crowd out the others.

Drops are counted (telemetry shows them), never logged or audited one by one: a flood must cost
the device as little as possible, disk included. The table of buckets is bounded (`max_names`):
a name beyond it is refused and counted, never given a bucket, so made-up names cannot grow it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimit:
    def __init__(self, per_minute: int, clock: Callable[[], float], max_names: int = 64) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_names = max_names
        self.dropped = 0
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def allow(self, name: str) -> bool:
        """Take one token for `name`; False (and counted) when its bucket is empty, or when
        `name` has none and the table is full."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                if len(self._buckets) >= self.max_names:
                    self.dropped += 1
                    return False
                bucket = self._buckets[name] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return True
            self.dropped += 1
            return False

    def __len__(self) -> int:
        return len(self._buckets)
