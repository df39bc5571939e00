"""systemd integration: readiness and a watchdog that is fed only while frames flow."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    """sd_notify(3): one datagram to $NOTIFY_SOCKET per state change; a no-op outside systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        self.watchdog_seconds = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 else None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, state: str) -> None:
        if not self.address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(state.encode(), self.address)
        except OSError as exc:
            log.warning("sd_notify failed: %s", exc)


class Watchdog:
    """Pings systemd at half its WatchdogSec, but only while `frames_flowing()` says so: a camera
    that stalls stops the pings, and systemd restarts the service."""

    def __init__(
        self,
        notifier: Notifier,
        frames_flowing: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.notifier = notifier
        self.frames_flowing = frames_flowing
        self.clock = clock
        self.pings = 0
        self.withheld = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        interval = self.notifier.watchdog_seconds
        if interval is None:
            return
        self._thread = threading.Thread(
            target=self._run, args=(interval / 2,), name="watchdog", daemon=True
        )
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            if self.frames_flowing():
                self.notifier.notify("WATCHDOG=1")
                self.pings += 1
            else:
                if self.withheld == 0:
                    log.error("no frames from the camera: withholding the watchdog ping")
                self.withheld += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
