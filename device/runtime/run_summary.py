"""What a run did, printed as one line at exit and written as JSON for CI (`--summary-json`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from doorbell.device.runtime.counters import Counters


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
    recording: str  # the recorder's state at the end: ok, off, disk_full
    recording_failed: str | None  # why clips could not be written during the run, if ever
    started_at: float = 0.0  # wall-clock time of frame t = 0
    dropped_classify: int = 0  # frames the classifier's queue dropped
    classified: int = 0  # frames classified

    @classmethod
    def of(
        cls,
        counters: Counters,
        wall_seconds: float,
        broker: str,
        connected: bool,
        started_at: float,
    ) -> RunSummary:
        return cls(
            frames=counters.frames,
            seconds_of_video=counters.seconds_of_video,
            wall_seconds=wall_seconds,
            events=counters.events,
            clips=counters.clips,
            dropped_camera=counters.dropped_camera,
            dropped_analysis=counters.dropped_analysis,
            dropped_recording=counters.dropped_recording,
            outbox_backlog=counters.outbox_backlog,
            outbox_dropped=counters.outbox_dropped,
            broker=broker,
            connected=connected,
            recording=counters.recording,
            recording_failed=counters.recording_failed,
            started_at=started_at,
            dropped_classify=counters.dropped_classify,
            classified=counters.classified,
        )

    @property
    def speed(self) -> float:
        return self.seconds_of_video / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def line(self) -> str:
        line = (
            f"doorbell: {self.frames} frames ({self.seconds_of_video:.1f} s of video) in "
            f"{self.wall_seconds:.1f} s ({self.speed:.1f}x real time); {self.events} events, "
            f"{self.clips} clips; dropped: {self.dropped_camera} by camera, "
            f"{self.dropped_analysis} by analysis, {self.dropped_recording} by recording; "
            f"outbox backlog {self.outbox_backlog}; "
            f"broker {self.broker} {'connected' if self.connected else 'unreachable'}"
        )
        if self.recording_failed:  # `0 clips` alone reads like a quiet day, not a full card
            line += f"; recording failed: disk full ({self.recording_failed})"
        return line

    def to_json(self) -> dict[str, Any]:
        """The `--summary-json` document: every field, and the speed."""
        return {**asdict(self), "speed": round(self.speed, 2)}
