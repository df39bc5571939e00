"""One snapshot of what a running device has counted: telemetry and the run summary both format
it, so a count is gathered in one place and cannot mean one thing here and another there."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Counters:
    frames: int  # frames captured
    seconds_of_video: float  # frames / the source's fps
    fps: float  # frames per second since the last snapshot
    dropped_camera: int  # frames the source itself lost (stalls, reconnects)
    dropped_analysis: int  # frames the analysis slot skipped
    dropped_recording: int  # raw frames the encoder queue dropped
    queue_analysis: int  # frames waiting for analysis now
    queue_recording: int  # frames waiting for the encoder now
    outbox_backlog: int  # alerts in the outbox, not yet acknowledged by the broker
    outbox_dropped: int  # alerts dropped to keep the outbox within bounds (ever)
    sent: int  # alerts acknowledged by the broker since start
    events: int  # alerts raised (motion and rings)
    clips: int  # clips completed
    recording: str  # the recorder's state: ok, off, disk_full...
    recording_failed: str | None  # why clips could not be written this run, if ever (it sticks)
    commands_dropped: int = 0  # MQTT commands over a budget or the queue's bound (uplink)
    commands_junk: int = 0  # MQTT messages dropped unanswered: unknown names, forged, oversized
    dropped_classify: int = 0  # frames the classifier's queue dropped (it fell behind)
    classified: int = 0  # frames classified since start
