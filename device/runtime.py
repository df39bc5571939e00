"""A running device: builds source, detector, recorder and uplink from the config and runs them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from config import DoorbellConfig
from device.alerts import Alerts
from device.frame import Frame
from device.pacing import Pacer
from device.pipeline import Pipeline
from device.recording.clip_recorder import ClipInfo, ClipRecorder
from device.sources import open_source
from motion.detector import MotionDetector
from motion.events import EventTracker
from motion.types import EventUpdate, MotionEvent, MotionResult
from uplink.embedded_broker import EmbeddedBroker, broker_answers
from uplink.messages import EventMessage
from uplink.mqtt_link import MqttLink, refuse_insecure
from uplink.topics import Topics

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    frames: int
    seconds_of_video: float
    wall_seconds: float
    events: int
    clips: int
    dropped_analysis: int
    dropped_recording: int
    source_dropped: int
    broker: str
    connected: bool

    def line(self) -> str:
        speed = self.seconds_of_video / self.wall_seconds if self.wall_seconds > 0 else 0.0
        return (
            f"doorbell: {self.frames} frames ({self.seconds_of_video:.1f} s of video) in "
            f"{self.wall_seconds:.1f} s ({speed:.1f}x real time); {self.events} events, "
            f"{self.clips} clips; dropped: {self.source_dropped} by camera, "
            f"{self.dropped_analysis} by analysis, {self.dropped_recording} by recording; "
            f"broker {self.broker} {'connected' if self.connected else 'unreachable'}"
        )


class Device:
    def __init__(
        self,
        config: DoorbellConfig,
        duration: float | None = None,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.config = config
        self.duration = duration
        self.echo = echo
        self.data_dir = config.device.data_dir
        self.topics = Topics(config.base_topic)
        refuse_insecure(config.mqtt, config.uplink.allow_insecure)
        self.broker: EmbeddedBroker | None = None
        self._recorder_lock = threading.Lock()
        self._start_wall = time.time()
        self.source = open_source(config.camera, start_wall=self._start_wall)
        self.link: MqttLink | None = None
        self.alerts = Alerts(config.device.id, self._publish_event, self.data_dir)
        behaviour = getattr(config.modes, config.device.mode)
        self.alerts_on = behaviour.motion_alerts
        self.record_on = behaviour.record and config.record.mode != "off"
        self.recorder: ClipRecorder | None = None
        self.pipeline: Pipeline | None = None

    # -- start / stop -------------------------------------------------------------------------
    def _start_uplink(self) -> None:
        mqtt = self.config.mqtt
        protocol = None
        if mqtt.embedded and mqtt.is_loopback():
            if broker_answers(mqtt.host, mqtt.port):
                log.info(
                    "embedded: using the broker already answering on %s:%d", mqtt.host, mqtt.port
                )
            else:
                self.broker = EmbeddedBroker(mqtt.host, mqtt.port)
                self.broker.start()
                protocol = "3.1.1"  # amqtt speaks MQTT 3.1.1 only
                log.info("embedded: started amqtt on %s:%d", mqtt.host, mqtt.port)
        self.link = MqttLink(
            mqtt,
            self.config.device.id,
            self.topics,
            allow_insecure=self.config.uplink.allow_insecure,
            protocol=protocol,
        )
        self.link.start()

    def run(self, stop: threading.Event | None = None) -> RunSummary:
        stop = stop or threading.Event()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._start_uplink()
        self.source.open()
        self.recorder = ClipRecorder(
            self.config.record,
            self.config.privacy,
            self.data_dir / "clips",
            self.source.fps,
            self._clip_done,
        )
        motion = self.config.motion
        self.pipeline = Pipeline(
            self.source,
            MotionDetector(motion, self.source.lores_size),
            EventTracker(motion),
            Pacer(self.config.camera.speed),
            self._on_updates,
            self._on_record,
            lambda: None,
            self.config.runtime.analysis_queue,
            self.config.runtime.record_queue,
            self.duration,
            # A simulation at full speed has no camera to outrun: analyse and record every frame.
            lossless=not self.source.live and self.config.camera.speed == "max",
        )
        began = time.monotonic()
        self.pipeline.start()
        try:
            while self.pipeline.running and not stop.is_set():
                stop.wait(0.2)
        finally:
            self.pipeline.stop_requested.set()
            self.pipeline.join(self.config.runtime.shutdown_seconds)
            with self._recorder_lock:
                self.recorder.close()
            self.alerts.flush()
            self._publish_motion(False)
            self.source.close()
            if self.link is not None:
                self.link.stop()
            if self.broker is not None:
                self.broker.stop()
        stats = self.pipeline.stats
        return RunSummary(
            frames=stats.frames,
            seconds_of_video=stats.frames / self.source.fps,
            wall_seconds=time.monotonic() - began,
            events=self.alerts.count,
            clips=self.alerts.clips,
            dropped_analysis=self.pipeline.analysis_q.dropped,
            dropped_recording=self.pipeline.record_q.dropped,
            source_dropped=self.source.stats.dropped,
            broker=self.link.url if self.link else "-",
            connected=bool(self.link and self.link.ever_connected),
        )

    # -- pipeline callbacks (analysis and recording threads) ----------------------------------
    def _on_updates(self, updates: list[EventUpdate], result: MotionResult, frame: Frame) -> None:
        if not self.alerts_on:
            return
        for update in updates:
            if update.kind == "start":
                self._event_started(update.event, frame)
            elif update.kind == "end":
                self._event_ended(update.event, frame)

    def _event_started(self, event: MotionEvent, frame: Frame) -> None:
        offset = frame.wall - frame.t
        alert = self.alerts.motion_started(event, offset, self.record_on)
        self.echo(
            f"ALERT motion {alert.id} at {event.start_t:.2f} s "
            f"score {event.peak_score:.1f}% zones {','.join(sorted(event.zones)) or '-'}"
        )
        self._publish_motion(True)
        if self.record_on and self.recorder is not None:
            with self._recorder_lock:
                self.recorder.open_event(alert.id, event.start_t)

    def _event_ended(self, event: MotionEvent, frame: Frame) -> None:
        alert_id = self.alerts.motion_ended(event, frame.wall - frame.t)
        self._publish_motion(False)
        if alert_id and self.record_on and self.recorder is not None:
            with self._recorder_lock:
                self.recorder.close_event(alert_id, event.end_t)

    def _on_record(self, frame: Frame) -> None:
        if self.recorder is not None:
            with self._recorder_lock:
                self.recorder.push(frame)

    def _clip_done(self, clip: ClipInfo) -> None:
        log.info("clip %s: %.1f s, %d bytes", clip.path.name, clip.seconds, clip.bytes)
        self.alerts.clip_done(clip)

    # -- uplink --------------------------------------------------------------------------------
    def _publish_event(self, message: EventMessage) -> None:
        if self.link is not None:
            self.link.publish(
                self.topics.event, message.model_dump_json(), qos=1, content_type="application/json"
            )

    def _publish_motion(self, on: bool) -> None:
        if self.link is not None:
            self.link.publish(self.topics.motion, "ON" if on else "OFF", qos=1, retain=True)
