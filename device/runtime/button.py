"""The doorbell button (and optional chime) on GPIO, through gpiozero.

Off a Pi, gpiozero's MockFactory stands in (GPIOZERO_PIN_FACTORY=mock). MockPin ignores
`bounce_time`, and real switches bounce more than gpiozero's edge filter catches on some boards,
so presses closer together than `bounce_ms` are also dropped here, by the injected clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from doorbell.config.device import ButtonConfig

log = logging.getLogger(__name__)


class DoorbellButton:
    def __init__(
        self,
        cfg: ButtonConfig,
        on_press: Callable[[], object],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self.on_press = on_press
        self.clock = clock
        self.presses = 0
        self.bounced = 0
        self._last: float | None = None
        self._lock = threading.Lock()
        self._button: Any = None
        self._chime: Any = None

    def start(self) -> None:
        if self.cfg.pin is None:
            return
        from gpiozero import Button, DigitalOutputDevice  # only needed with a wired button

        bounce = self.cfg.bounce_ms / 1000 or None
        self._button = Button(self.cfg.pin, pull_up=True, bounce_time=bounce)
        self._button.when_pressed = self.pressed
        if self.cfg.chime_pin is not None:
            self._chime = DigitalOutputDevice(self.cfg.chime_pin)
        log.info("button on BCM pin %d", self.cfg.pin)

    def pressed(self) -> None:
        now = self.clock()
        with self._lock:
            if self._last is not None and (now - self._last) * 1000 < self.cfg.bounce_ms:
                self.bounced += 1
                return
            self._last = now
            self.presses += 1
        if self._chime is not None:
            self._chime.blink(on_time=self.cfg.chime_seconds, off_time=0, n=1, background=True)
        self.on_press()

    def stop(self) -> None:
        for device in (self._button, self._chime):
            if device is not None:
                device.close()
