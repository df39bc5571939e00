"""Whether clips can be written: `ok`, `off` (record.mode off) or `disk_full`.

A full card stops recording, not alerts: the state says so in telemetry, retention is asked to
make room, and writing is tried again a minute of frame time later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)
DISK_RETRY_SECONDS = 60.0  # a full card: how long before writing a clip is tried again


class DiskState:
    def __init__(
        self,
        off: bool,
        make_room: Callable[[], list[str]],
        on_change: Callable[[str, str | None], None] = lambda state, failure: None,
    ) -> None:
        """`on_change(state, failure)`: told whenever the state changes (the health topic)."""
        self.state = "off" if off else "ok"
        self.on_change = on_change
        # Why a clip could not be written, the last time it could not: kept after writing works
        # again, so the run summary can say that recording failed during the run.
        self.failure: str | None = None
        self.make_room = make_room
        self._retry_at = 0.0  # frame time after which a full disk is tried again

    def may_write(self, t: float) -> bool:
        """Whether to try opening a clip at frame time `t`."""
        return self.state != "disk_full" or t >= self._retry_at

    def full(self, exc: OSError, t: float) -> None:
        if self.state != "disk_full":  # said once, not for every write that meets it
            log.error(
                "recording stopped: cannot write clips (%s); alerts go on; trying again in %g s",
                exc,
                DISK_RETRY_SECONDS,
            )
        was = self.state
        self.state = "disk_full"
        self.failure = exc.strerror or str(exc)
        self._retry_at = t + DISK_RETRY_SECONDS
        if was != self.state:
            self.on_change(self.state, self.failure)
        self.make_room()

    def wrote(self) -> None:
        """A clip could be opened."""
        if self.state == "disk_full":
            log.info("recording again: clips can be written")
            self._ok()

    def room_made(self, freed: list[str]) -> None:
        if freed and self.state == "disk_full":
            self._ok()

    def _ok(self) -> None:
        self.state = "ok"
        self.on_change(self.state, None)
