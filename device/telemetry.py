"""What the device says about its own health, every `uplink.telemetry_seconds`."""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import BaseModel

THERMAL = Path("/sys/class/thermal/thermal_zone0/temp")


class Telemetry(BaseModel):
    version: str
    mode: str
    uptime_s: float
    fps: float
    frames: int
    dropped_camera: int
    dropped_analysis: int
    dropped_recording: int
    queue_analysis: int
    queue_recording: int
    outbox_backlog: int
    outbox_dropped: int
    events: int
    clips: int
    recording: str
    disk_used_pct: float
    disk_free_bytes: int
    cpu_temp_c: float | None


def cpu_temperature() -> float | None:
    try:
        return round(int(THERMAL.read_text().strip()) / 1000.0, 1)
    except (OSError, ValueError):
        return None


def disk_usage(path: Path) -> tuple[float, int]:
    usage = shutil.disk_usage(path)
    return round(100.0 * usage.used / usage.total, 1), usage.free
