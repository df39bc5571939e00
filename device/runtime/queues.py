"""Bounded hand-offs between threads that never block the producer, and count what they drop."""

from __future__ import annotations

import collections
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class DropQueue(Generic[T]):
    """A bounded FIFO; when full, `put` discards the oldest item and counts it.

    With maxlen=1 it is a "latest value" slot: a slow consumer skips straight to the newest frame.
    `lossless=True` makes `put` wait for room instead: for a simulation running as fast as it
    can, where there is no camera to outrun and every frame must be seen.
    """

    def __init__(self, maxlen: int, lossless: bool = False) -> None:
        self._items: collections.deque[T] = collections.deque(maxlen=maxlen)
        self._cond = threading.Condition()
        self._closed = False
        self.lossless = lossless
        self.dropped = 0

    def put(self, item: T) -> None:
        with self._cond:
            if self.lossless:
                while len(self._items) == self._items.maxlen and not self._closed:
                    self._cond.wait()
            elif len(self._items) == self._items.maxlen:
                self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item; None once closed and empty, or after `timeout` (None: no timeout,
        so a consumer sleeps until an item or the close instead of waking to look)."""
        with self._cond:
            if timeout is None:
                self._cond.wait_for(lambda: self._items or self._closed)
            elif not self._items and not self._closed:
                self._cond.wait(timeout)
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed and not self._items

    def __len__(self) -> int:
        return len(self._items)
