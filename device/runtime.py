"""A running device: builds source, detector, recorder and uplink from the config and runs them.

Threads: capture, analysis and recording (device.pipeline), paho's network thread (uplink),
telemetry, the watchdog, the control socket and, on a Pi, gpiozero's button thread. This module
is the glue: it decides what an event means in the current mode.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from config import DoorbellConfig
from config.device import MODES, Mode, ModeBehaviour
from config.live import merge_reload
from config.motion import MotionConfig
from device.alerts import Alerts
from device.button import DoorbellButton
from device.control import ControlServer
from device.frame import Frame
from device.memory import release_freed_memory
from device.mode_store import ModeStore
from device.pacing import Pacer
from device.pipeline import Pipeline
from device.recording.clip import ClipInfo
from device.recording.picamera2_stream import camera_stream
from device.recording.recorder import Recorder
from device.run_summary import RunSummary, summary_of
from device.sources import open_source
from device.systemd import Notifier, Watchdog
from device.telemetry import Telemetry, telemetry_of
from motion.detector import MotionDetector
from motion.events import EventTracker
from motion.types import EventUpdate, MotionEvent, MotionResult
from uplink.messages import EventMessage
from uplink.mqtt_link import refuse_insecure
from uplink.requests import FootageRequests, result_payload
from uplink.requests.commands import dispatch
from uplink.uplink import Uplink

log = logging.getLogger(__name__)

REQUESTS_POLL_SECONDS = 10.0


@dataclass
class ActiveMotion:
    event: MotionEvent
    alert_id: str
    peak: Frame  # the frame at the event's highest score so far


class Device:
    def __init__(
        self,
        config: DoorbellConfig,
        duration: float | None = None,
        echo: Callable[[str], None] = print,
        reload: Callable[[], DoorbellConfig] | None = None,
        mode_from_flag: bool = False,
        notifier: Notifier | None = None,
    ) -> None:
        self.config = config
        self.duration = duration
        self.echo = echo
        self._reload = reload
        self.data_dir = config.device.data_dir
        refuse_insecure(config.mqtt, config.uplink.allow_insecure)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.modes = ModeStore(config.device.data.mode)
        stored = None if mode_from_flag else self.modes.load()
        self.mode: Mode = stored or config.device.mode
        self.started_monotonic = time.monotonic()
        self.source = open_source(config.camera)
        self.uplink = Uplink(config, self.data_dir, on_command=self.handle_command)
        self.alerts = Alerts(config.device.id, self._publish_event, self.data_dir)
        self.recorder: Recorder | None = None
        self.requests: FootageRequests | None = None
        self.pipeline: Pipeline | None = None
        self.button = DoorbellButton(config.button, self.press)
        self.control = ControlServer(config.device.data.control_socket, self._control_request)
        self.notifier = notifier or Notifier()
        self.watchdog = Watchdog(self.notifier, self.frames_flowing)
        self._active: dict[int, ActiveMotion] = {}  # id(MotionEvent) -> its alert
        self._last_frame: Frame | None = None
        self._fps_mark = (time.monotonic(), 0)
        self._reload_requested = threading.Event()
        self._stop = threading.Event()

    @property
    def behaviour(self) -> ModeBehaviour:
        behaviour: ModeBehaviour = getattr(self.config.modes, self.mode)
        return behaviour

    @property
    def recording_on(self) -> bool:
        return self.behaviour.record and self.config.record.mode != "off"

    # -- life cycle ------------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None) -> RunSummary:
        self._stop = stop or threading.Event()
        self.source.open()
        size = (self.source.width, self.source.height)
        self.recorder = Recorder(
            self.config.record, self.config.storage, self.config.privacy,
            self.data_dir, self.source.fps, size, self._clip_done,
        )  # fmt: skip
        self.recorder.start()
        if self.config.record.encoder == "auto":  # picamera2 encodes on the Pi's own hardware
            self.recorder.use_camera_stream(
                camera_stream(self.source, self.config.record, self.recorder.mask)
            )
        self._sync_recorder()
        self.requests = FootageRequests(self.config, self.data_dir, self.recorder.index)
        self.uplink.start()
        self.uplink.publish_mode(self.mode)
        motion = self.config.motion
        self.pipeline = Pipeline(
            self.source,
            MotionDetector(motion, self.source.lores_size),
            EventTracker(motion),
            Pacer(self.config.camera.speed),
            self._on_analysed,
            self.recorder.push,
            self.config.runtime.analysis_queue,
            self.config.runtime.record_queue,
            self.duration,
            # A simulation at full speed has no camera to outrun: analyse and record every frame.
            lossless=not self.source.live and self.config.camera.speed == "max",
        )
        self.control.start()
        self.button.start()
        began = time.monotonic()
        self.source.set_start_wall(time.time())  # a simulated frame's wall time is when it is shown
        self.pipeline.start()
        self.notifier.notify("READY=1")
        if self.config.runtime.watchdog:
            self.watchdog.start()
        telemetry = threading.Thread(target=self._telemetry_loop, name="telemetry", daemon=True)
        telemetry.start()
        threading.Thread(target=self._requests_loop, name="footage-requests", daemon=True).start()
        log.info("running in mode %s; camera %s", self.mode, self.config.camera.source)
        try:
            while self.pipeline.running and not self._stop.is_set():
                self._stop.wait(0.2)
                if self._reload_requested.is_set():
                    self._reload_requested.clear()
                    self._apply_reload()
                release_freed_memory()  # microseconds; at full speed it keeps ~8 MB off the peak
        finally:
            self.notifier.notify("STOPPING=1")
            self._shutdown()
        return self.summary(time.monotonic() - began)

    def _shutdown(self) -> None:
        """Finish the clip, flush the outbox as far as the broker allows, say offline."""
        assert self.pipeline is not None and self.recorder is not None
        self._stop.set()
        self.pipeline.stop_requested.set()
        self.pipeline.join(self.config.runtime.shutdown_seconds)
        self.watchdog.stop()
        self.button.stop()
        self.control.stop()
        self.recorder.close()
        self.alerts.flush()
        self.uplink.set_motion(False)
        self.source.close()
        self.uplink.stop(self.config.runtime.shutdown_seconds)

    def summary(self, wall_seconds: float) -> RunSummary:
        return summary_of(self, wall_seconds)

    def request_reload(self) -> None:
        self._reload_requested.set()

    def frames_flowing(self) -> bool:
        if self.pipeline is None:
            return False
        stall = max(self.config.runtime.stall_seconds, 3.0 / self.source.fps)
        return time.monotonic() - self.pipeline.stats.last_frame_monotonic < stall

    # -- analysis thread ------------------------------------------------------------------------
    def _on_analysed(self, updates: list[EventUpdate], result: MotionResult, frame: Frame) -> None:
        self._last_frame = frame
        for active in self._active.values():
            if active.event.peak_seq == frame.seq:
                active.peak = frame  # a reference, not a copy: frames are never written to
        for update in updates:
            if update.kind == "start":
                self._motion_started(update.event, frame)
            elif update.kind == "end":
                self._motion_ended(update.event, frame)
            elif update.kind == "stationary" and update.event.box is not None:
                log.info("something arrived and stayed: %s", update.event.box.as_list())

    def _motion_started(self, event: MotionEvent, frame: Frame) -> None:
        if not self.behaviour.motion_alerts:
            return
        offset = frame.wall - frame.t
        recording = self.recording_on
        alert = self.alerts.start(
            "motion",
            offset + event.start_t,
            score=event.peak_score,
            boxes=[b.as_list() for b in event.peak_boxes],
            zones=sorted(event.zones),
            recording=self._clip_follows(recording),
        )
        self._active[id(event)] = ActiveMotion(event, alert.id, frame)
        log.info("motion started, score %.1f%%", event.peak_score, extra={"event_id": alert.id})
        self.echo(
            f"ALERT motion {alert.id} at {event.start_t:.2f} s "
            f"score {event.peak_score:.1f}% zones {','.join(sorted(event.zones)) or '-'}"
        )
        self.uplink.set_motion(True)
        if recording and self.recorder is not None:
            self.recorder.event_started(alert.id, "motion", event.start_t, offset + event.start_t)
        if self.behaviour.snapshots:
            self._snapshot(alert.id, frame)

    def _motion_ended(self, event: MotionEvent, frame: Frame) -> None:
        active = self._active.pop(id(event), None)
        if active is None:
            return
        offset = frame.wall - frame.t
        zones = sorted(event.zones)
        log.info(
            "motion ended after %.1f s", event.end_t - event.start_t,
            extra={"event_id": active.alert_id},
        )  # fmt: skip
        if not self._active:
            self.uplink.set_motion(False)
        if self.recording_on and self.recorder is not None:
            self.recorder.event_ended(
                active.alert_id, event.end_t, offset + event.end_t, event.peak_score, zones
            )
        if self.behaviour.snapshots:
            self._snapshot(active.alert_id, active.peak)
        self.alerts.end(
            active.alert_id,
            offset + event.end_t,
            score=event.peak_score,
            boxes=[b.as_list() for b in event.peak_boxes],
            zones=zones,
        )

    # -- the button: any thread -----------------------------------------------------------------
    def press(self) -> str | None:
        """A ring: its own event, muted by no mode; records and snapshots where the mode allows."""
        frame = self._last_frame
        if frame is None:
            log.warning("button pressed before the first frame; ring sent without a picture")
            wall, t = time.time(), 0.0
        else:
            wall, t = frame.wall, frame.t
        recording = self.recording_on and frame is not None
        alert = self.alerts.start("ring", wall, recording=self._clip_follows(recording))
        self.echo(f"RING {alert.id} at {t:.2f} s")
        log.info("doorbell pressed", extra={"event_id": alert.id})
        if recording and self.recorder is not None:
            self.recorder.event_started(alert.id, "ring", t, wall)
            self.recorder.event_ended(alert.id, t, wall, 0.0, [])
        if frame is not None and self.behaviour.snapshots:
            self._snapshot(alert.id, frame)
        self.alerts.end(alert.id, wall)
        return alert.id

    # -- recording and uplink -------------------------------------------------------------------
    def _snapshot(self, alert_id: str, frame: Frame) -> None:
        if self.recorder is None:
            return
        try:
            snap = self.recorder.save_snapshot(alert_id, frame.main)
        except OSError as exc:
            log.error("snapshot not saved: %s", exc, extra={"event_id": alert_id})
            return
        self.uplink.send_snapshot(snap.jpeg, snap.picture)

    def _clip_done(self, clip: ClipInfo) -> None:
        for event_id in clip.event_ids or (None,):  # a continuous segment may hold no event
            log.info(
                "clip %s: %.1f s, %d bytes", clip.path.name, clip.seconds, clip.bytes,
                extra={"event_id": event_id} if event_id else {},
            )  # fmt: skip
        self.alerts.clip_done(clip)

    def _publish_event(self, message: EventMessage) -> None:
        self.uplink.send_event(message)
        if message.type == "ring" and message.state == "start":
            self.uplink.send_ring(message)

    # -- commands: MQTT, control socket ---------------------------------------------------------
    def handle_command(self, name: str, body: Any) -> dict[str, Any]:
        """Carry out a validated command; the reply says what happened."""
        args = body if isinstance(body, dict) else body.model_dump(exclude_none=True)
        if name == "mode":
            return self.set_mode(args.get("mode"))
        if name == "press":
            return {"ok": True, "error": None, "event_id": self.press()}
        if name == "snapshot":
            frame = self._last_frame
            if frame is None:
                return {"ok": False, "error": "no frame yet"}
            if self.recorder is not None:
                snap = self.recorder.snapshot(frame.main)
                self.uplink.send_snapshot(snap.jpeg, snap.picture)
            return {"ok": True, "error": None}
        if name == "motion":
            return self.update_motion({k: v for k, v in args.items() if k != "request_id"})
        if name in ("footage_request", "footage_decision"):
            if self.requests is None:
                return {"ok": False, "error": "not ready"}
            return dispatch(self.requests, name, body).model_dump(mode="json")
        if name == "status":
            return {"ok": True, "error": None, **self.telemetry().model_dump()}
        if name == "ping":
            return {"ok": True, "error": None}
        return {"ok": False, "error": f"unknown command {name!r}"}

    def _control_request(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("cmd")
        if not isinstance(name, str):
            return {"ok": False, "error": "missing 'cmd'"}
        return self.handle_command(name, request)

    def set_mode(self, mode: object) -> dict[str, Any]:
        if mode not in MODES:
            return {"ok": False, "error": f"unknown mode {mode!r} (allowed: {', '.join(MODES)})"}
        self.mode = mode
        self.modes.save(self.mode)
        self._sync_recorder()
        self.uplink.publish_mode(self.mode)
        log.info("mode is now %s", self.mode)
        return {"ok": True, "error": None, "mode": self.mode}

    def _clip_follows(self, recording: bool) -> bool:
        """Whether an event's `end` waits for its own clip: not in continuous mode, where the
        segment it falls in may be minutes away."""
        return recording and self.config.record.mode == "events"

    def _sync_recorder(self) -> None:
        """Continuous segments follow the mode: a disarmed device records nothing."""
        if self.recorder is not None:
            self.recorder.continuous = self.recording_on and self.config.record.mode == "continuous"

    def update_motion(self, changes: dict[str, Any]) -> dict[str, Any]:
        try:
            merged = self.config.motion.model_dump() | changes
            motion = MotionConfig.model_validate(merged)
        except ValueError as exc:
            return {"ok": False, "error": str(exc).splitlines()[0]}
        self._apply_motion(motion)
        return {"ok": True, "error": None}

    def _apply_motion(self, motion: MotionConfig) -> None:
        self.config = self.config.model_copy(update={"motion": motion})
        if self.pipeline is not None:
            self.pipeline.replace_detector(MotionDetector(motion, self.source.lores_size), motion)

    def _apply_reload(self) -> None:
        if self._reload is None:
            return
        try:
            new = self._reload()
        except Exception as exc:  # a bad file must not take the device down
            log.error("config reload failed, keeping the running config: %s", exc)
            return
        if new.motion != self.config.motion:
            self._apply_motion(new.motion)
        self.config, restart_needed = merge_reload(self.config, new)
        self._sync_recorder()
        log.info(
            "config reloaded%s",
            f"; restart to apply: {', '.join(restart_needed)}" if restart_needed else "",
        )

    # -- telemetry -------------------------------------------------------------------------------
    def telemetry(self) -> Telemetry:
        return telemetry_of(self)

    def fps_now(self) -> float:
        """Frames per second since the last time anyone asked."""
        pipeline = self.pipeline
        if pipeline is None:
            return 0.0
        now, frames = time.monotonic(), pipeline.stats.frames
        last_at, last_frames = self._fps_mark
        self._fps_mark = (now, frames)
        return (frames - last_frames) / (now - last_at) if now > last_at else 0.0

    def _requests_loop(self) -> None:
        """Expire undecided requests, retry interrupted uploads, and publish decisions made with
        `doorbell requests` from another process."""
        assert self.requests is not None
        for reply in self.requests.retry_uploads():
            self.uplink.send_result("footage_request", result_payload(reply))
        while not self._stop.wait(REQUESTS_POLL_SECONDS):
            try:
                for reply in self.requests.poll():
                    self.uplink.send_result("footage_request", result_payload(reply))
            except Exception:  # a broken request must not stop the device
                log.exception("footage request poll failed")

    def _telemetry_loop(self) -> None:
        while not self._stop.wait(self.config.uplink.telemetry_seconds):
            self.uplink.send_telemetry(self.telemetry().model_dump())
