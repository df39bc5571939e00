"""What the device says about its own health, every `uplink.telemetry_seconds`."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from device.version import VERSION

if TYPE_CHECKING:
    from device.runtime import Device

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


def telemetry_of(device: Device) -> Telemetry:
    """What the running device reports about itself, now."""
    pipeline = device.pipeline
    stats = device.uplink.stats
    used_pct, free = disk_usage(device.data_dir)
    uptime = time.monotonic() - device.started_monotonic
    frames = pipeline.stats.frames if pipeline else 0
    status = device.recorder.status() if device.recorder else None
    return Telemetry(
        version=VERSION,
        mode=device.mode,
        uptime_s=round(uptime, 1),
        fps=round(device.fps_now(), 2),
        frames=frames,
        dropped_camera=device.source.stats.dropped,
        dropped_analysis=pipeline.analysis_q.dropped if pipeline else 0,
        dropped_recording=pipeline.record_q.dropped if pipeline else 0,
        queue_analysis=len(pipeline.analysis_q) if pipeline else 0,
        queue_recording=len(pipeline.record_q) if pipeline else 0,
        outbox_backlog=stats.backlog,
        outbox_dropped=stats.dropped,
        events=device.alerts.count,
        clips=device.alerts.clips,
        recording=status.state if status else "off",
        disk_used_pct=used_pct,
        disk_free_bytes=free,
        cpu_temp_c=cpu_temperature(),
    )
