"""What the device says about its own health, every `uplink.telemetry_seconds`."""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import BaseModel

from doorbell.device.runtime.counters import Counters
from doorbell.device.version import VERSION

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
    dropped_classify: int
    classified: int
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
    commands_dropped: int = 0
    commands_junk: int = 0
    broker_resets: int = 0
    classify_retried: int = 0

    @classmethod
    def of(cls, counters: Counters, mode: str, uptime_s: float, data_dir: Path) -> Telemetry:
        used_pct, free = disk_usage(data_dir)
        return cls(
            version=VERSION,
            mode=mode,
            uptime_s=round(uptime_s, 1),
            fps=round(counters.fps, 2),
            frames=counters.frames,
            dropped_camera=counters.dropped_camera,
            dropped_analysis=counters.dropped_analysis,
            dropped_recording=counters.dropped_recording,
            dropped_classify=counters.dropped_classify,
            classified=counters.classified,
            queue_analysis=counters.queue_analysis,
            queue_recording=counters.queue_recording,
            outbox_backlog=counters.outbox_backlog,
            outbox_dropped=counters.outbox_dropped,
            events=counters.events,
            clips=counters.clips,
            recording=counters.recording,
            disk_used_pct=used_pct,
            disk_free_bytes=free,
            cpu_temp_c=cpu_temperature(),
            commands_dropped=counters.commands_dropped,
            commands_junk=counters.commands_junk,
            broker_resets=counters.broker_resets,
            classify_retried=counters.classify_retried,
        )


def cpu_temperature() -> float | None:
    try:
        return round(int(THERMAL.read_text().strip()) / 1000.0, 1)
    except (OSError, ValueError):
        return None


def disk_usage(path: Path) -> tuple[float, int]:
    usage = shutil.disk_usage(path)
    return round(100.0 * usage.used / usage.total, 1), usage.free
