"""Retention on a thread of its own, as Frigate's `RecordingCleanup` is: soon after each clip is
finished, and every `every_seconds` besides (a clip ages out with nothing recorded), so deleting
old clips (files, snapshots, index rows) never holds up the recording thread. A full disk still
makes room at once, on the thread that met it (`DiskState.full`): that write is waiting."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

EVERY_SECONDS = 60.0


class RetentionSchedule:
    def __init__(
        self,
        enforce: Callable[[], list[str]],
        on_freed: Callable[[list[str]], None],
        every_seconds: float = EVERY_SECONDS,
    ) -> None:
        """`enforce`: one pass of retention, returning the clips it deleted; `on_freed` hears
        them (the disk's state: room made)."""
        self.enforce, self.on_freed, self.every_seconds = enforce, on_freed, every_seconds
        self.passes = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def clip_finished(self) -> None:
        """A clip is complete (the recording thread): retention runs next, on its own thread."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.every_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.on_freed(self.enforce())
            except Exception:  # one failed pass must not end retention for the run
                log.exception("retention pass failed")
            self.passes += 1
