"""`device:`, `runtime:`, `button:` and `modes:` sections: identity, process, and behaviour."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field

from doorbell.config.base import FilePath, Section, Switch
from doorbell.config.data_dir import DataDir

Mode = Literal["disarmed", "home", "away"]
# Every other place that lists the modes (commands, discovery, the CLI) derives them from here.
MODES: tuple[Mode, ...] = get_args(Mode)


def _default_device_id() -> str:
    # A stable id that reveals nothing: a hash of the machine id, never the hostname.
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            seed = Path(path).read_text().strip()
        except OSError:
            continue
        if seed:
            return "doorbell-" + hashlib.sha256(seed.encode()).hexdigest()[:8]
    return "doorbell"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "doorbell"


class DeviceConfig(Section):
    id: str = Field(
        default_factory=_default_device_id, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"
    )
    data_dir: FilePath = Field(default_factory=_default_data_dir)
    mode: Mode = "away"

    @property
    def data(self) -> DataDir:
        """The named files under `data_dir`."""
        return DataDir(self.data_dir)


class RuntimeConfig(Section):
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["plain", "json"] = "plain"
    shutdown_seconds: float = Field(10.0, ge=0.5, le=300.0)
    watchdog: Switch = True
    stall_seconds: float = Field(
        5.0, ge=0.5, le=600.0, description="no frame for this long: the camera counts as stalled"
    )
    analysis_queue: int = Field(2, ge=1, le=64, description="frames waiting for analysis")
    record_queue: int = Field(15, ge=2, le=600, description="raw frames waiting for the encoder")


class ButtonConfig(Section):
    pin: int | None = Field(None, ge=0, le=27, description="BCM pin; None = no GPIO button")
    bounce_ms: int = Field(50, ge=0, le=2000)
    chime_pin: int | None = Field(None, ge=0, le=27)
    chime_seconds: float = Field(1.0, ge=0.1, le=10.0)


# The labels an event can carry (device/classify/labels.py derives its own from this one).
EventLabel = Literal["person", "vehicle", "animal", "package", "unknown"]
EVENT_LABELS: tuple[EventLabel, ...] = get_args(EventLabel)


class ModeBehaviour(Section):
    motion_alerts: Switch = True
    record: Switch = True
    snapshots: Switch = True
    # Which labels raise a motion alert; `unknown` is an event no label was found for (and
    # every event of a device without the classifier's model). Default: all of them, as before.
    alert_labels: list[EventLabel] = Field(default_factory=lambda: list(EVENT_LABELS), min_length=1)


class ModesConfig(Section):
    disarmed: ModeBehaviour = ModeBehaviour(motion_alerts=False, record=False, snapshots=False)
    home: ModeBehaviour = ModeBehaviour(motion_alerts=False, record=True, snapshots=True)
    away: ModeBehaviour = ModeBehaviour()
