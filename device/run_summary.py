"""What a run did, printed as one line at exit and written as JSON for CI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from device.runtime import Device


@dataclass
class RunSummary:
    frames: int
    seconds_of_video: float
    wall_seconds: float
    events: int
    clips: int
    dropped_camera: int
    dropped_analysis: int
    dropped_recording: int
    outbox_backlog: int
    outbox_dropped: int
    broker: str
    connected: bool
    started_at: float = 0.0  # wall-clock time of frame t = 0

    @property
    def speed(self) -> float:
        return self.seconds_of_video / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def line(self) -> str:
        return (
            f"doorbell: {self.frames} frames ({self.seconds_of_video:.1f} s of video) in "
            f"{self.wall_seconds:.1f} s ({self.speed:.1f}x real time); {self.events} events, "
            f"{self.clips} clips; dropped: {self.dropped_camera} by camera, "
            f"{self.dropped_analysis} by analysis, {self.dropped_recording} by recording; "
            f"outbox backlog {self.outbox_backlog}; "
            f"broker {self.broker} {'connected' if self.connected else 'unreachable'}"
        )


def summary_of(device: Device, wall_seconds: float) -> RunSummary:
    pipeline = device.pipeline
    frames = pipeline.stats.frames if pipeline else 0
    return RunSummary(
        frames=frames,
        seconds_of_video=frames / device.source.fps,
        wall_seconds=wall_seconds,
        events=device.alerts.count,
        clips=device.alerts.clips,
        dropped_camera=device.source.stats.dropped,
        dropped_analysis=pipeline.analysis_q.dropped if pipeline else 0,
        dropped_recording=pipeline.record_q.dropped if pipeline else 0,
        outbox_backlog=device.uplink.stats.backlog,
        outbox_dropped=device.uplink.stats.dropped,
        broker=device.uplink.url,
        connected=device.uplink.ever_connected,
        started_at=device.source.start_wall,
    )
