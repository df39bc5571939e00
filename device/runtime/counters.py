"""One snapshot of what a running device has counted: telemetry and the run summary both format
it, so a count is gathered in one place and cannot mean one thing here and another there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from doorbell.device.recording.recorder import RecorderStatus
    from doorbell.device.runtime.alerts import Alerts
    from doorbell.device.runtime.classify_stage import ClassifyStage
    from doorbell.device.runtime.pipeline import Pipeline
    from doorbell.device.sources.base import Source
    from doorbell.uplink.uplink import UplinkStats


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
    broker_resets: int = 0  # MQTT connections dropped for a flood's backlog (uplink.backlog_watch)
    dropped_classify: int = 0  # frames the classifier's queue dropped (it fell behind)
    classified: int = 0  # frames classified since start
    classify_retried: int = 0  # stationary objects sent again after the queue dropped them

    @classmethod
    def gather(
        cls,
        pipeline: Pipeline,
        source: Source,
        classifier: ClassifyStage | None,
        outbox: UplinkStats,
        alerts: Alerts,
        recorder: RecorderStatus,
        fps: float,
    ) -> Counters:
        """Each count read from the part that keeps it."""
        frames = pipeline.stats.frames
        return cls(
            frames=frames,
            seconds_of_video=frames / source.fps,
            fps=fps,
            dropped_camera=source.stats.dropped,
            dropped_analysis=pipeline.analysis_q.dropped,
            dropped_recording=pipeline.record_q.dropped,
            dropped_classify=classifier.dropped if classifier else 0,
            classified=classifier.classified if classifier else 0,
            classify_retried=classifier.retried if classifier else 0,
            queue_analysis=len(pipeline.analysis_q),
            queue_recording=len(pipeline.record_q),
            outbox_backlog=outbox.backlog,
            outbox_dropped=outbox.dropped,
            sent=outbox.sent,
            events=alerts.count,
            clips=alerts.clips,
            recording=recorder.state,
            recording_failed=recorder.failure,
            commands_dropped=outbox.commands_dropped,
            commands_junk=outbox.commands_junk,
            broker_resets=outbox.broker_resets,
        )
