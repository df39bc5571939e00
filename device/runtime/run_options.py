"""How one run of the device goes, besides its config (the command line's and tests' knobs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from doorbell.config import DoorbellConfig, LoadedConfig
from doorbell.device.runtime.clock import SYSTEM, Clock
from doorbell.device.system.systemd import Notifier


@dataclass(frozen=True)
class RunOptions:
    """How one run goes, besides the config. `duration`: stop after this much frame time;
    `echo`: where alert lines go; `reload`: reads the config again (SIGHUP); `mode_from_flag`:
    the mode was given on the command line, so the stored one does not win; `notifier`: systemd;
    `clock`: injected time; `loaded`: the file the config came from (the local page saves zones
    and masks there) and the origin of each value."""

    duration: float | None = None
    echo: Callable[[str], None] = print
    reload: Callable[[], DoorbellConfig] | None = None
    mode_from_flag: bool = False
    notifier: Notifier | None = None
    clock: Clock = SYSTEM
    loaded: LoadedConfig | None = None
