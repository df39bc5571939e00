"""How far behind the broker the device reads, and a fresh connection when it is too far.

A flood on a command topic the device must subscribe to (`cmd/mode`, from an account allowed to
write it) arrives faster than paho reads it (a few thousand messages a second). What waits for
the device then waits in its socket's receive buffer, in the broker's send buffer and in the
broker's queue for it: megabytes of junk, tens of seconds of reading, in front of the owner's
signed command. Every copy the owner sends again queues behind it too.

So every `every` seconds the watch looks at the bytes waiting in the device's socket (FIONREAD);
above `limit` twice in a row, it has the link drop the connection and connect again (at most once
per `cooldown`): everything queued for the old connection is discarded with it, and the owner's
next copy (`doorbell owner send` sends two a second) reaches a pipe that is empty. Alerts lose
nothing: the outbox sends what the broker did not acknowledge again on the new connection.
"""

from __future__ import annotations

import array
import fcntl
import logging
import termios
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# paho reads a packet as its bytes come, so a legitimate command (16 KB at most,
# `uplink.max_command_bytes`) never waits in the socket for long; 64 KiB waiting for two looks in a
# row is a reader behind a flood (65-190 KB under benchmarks/security.py --flood mixed).
LIMIT_BYTES = 64 * 1024
EVERY_SECONDS = 0.5
COOLDOWN_SECONDS = 3.0
LOG_EVERY_SECONDS = 60.0


def waiting_bytes(sock: Any) -> int:
    """Bytes received by the kernel for `sock` and not read yet; 0 without a socket."""
    if sock is None:
        return 0
    try:
        count = array.array("i", [0])
        fcntl.ioctl(sock.fileno(), termios.FIONREAD, count)
    except (OSError, ValueError):  # closed meanwhile
        return 0
    return int(count[0])


class BacklogWatch:
    def __init__(
        self,
        waiting: Callable[[], int],
        reset: Callable[[], None],
        limit: int = LIMIT_BYTES,
        every: float = EVERY_SECONDS,
        cooldown: float = COOLDOWN_SECONDS,
    ) -> None:
        self.waiting = waiting
        self.reset = reset
        self.limit = limit
        self.every = every
        self.cooldown = cooldown
        self.resets = 0  # connections dropped for a backlog, since start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_log = -LOG_EVERY_SECONDS

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mqtt-backlog", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2 * self.every)

    def _run(self) -> None:
        behind, last_reset = 0, -self.cooldown
        while not self._stop.wait(self.every):
            waiting = self.waiting()
            behind = behind + 1 if waiting > self.limit else 0
            now = time.monotonic()
            if behind < 2 or now - last_reset < self.cooldown:
                continue
            behind, last_reset = 0, now
            self.resets += 1
            if now - self._last_log >= LOG_EVERY_SECONDS:  # a flood: one line a minute
                self._last_log = now
                log.warning(
                    "%d bytes waiting from the broker (a flood?): connecting again to drop them "
                    "(%d times so far)",
                    waiting,
                    self.resets,
                )
            self.reset()
