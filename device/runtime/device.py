"""A running device: every collaborator built before it runs, and what an event means in the
current mode carried out.

`open_device` (device.runtime.startup) opens the camera first (so a bad source fails before
anything else starts), then `Device` constructs source-sized parts (recorder, pipeline, footage
requests) and the rest; `run()` only starts threads. The mode rules live in
`device.runtime.policy`, the commands in `device.runtime.command_registry`, the config in effect
and the changes it takes while running in `device.runtime.live_config`; this module wires them to
the recorder, alerts and uplink.

Threads: capture, analysis and recording (device.pipeline), paho's network thread and the command
worker (uplink), footage uploads, telemetry, the requests poll, the watchdog, the control socket
and, on a Pi, gpiozero's button thread. See docs/architecture.md.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from pydantic import BaseModel

from doorbell.config import DoorbellConfig
from doorbell.config.device import Mode, ModeBehaviour
from doorbell.device.recording.passthrough_stream import passthrough_stream
from doorbell.device.recording.picamera2_stream import camera_stream
from doorbell.device.recording.recorder import Recorder
from doorbell.device.runtime.alerts import Alerts
from doorbell.device.runtime.button import DoorbellButton
from doorbell.device.runtime.classify_stage import open_stage
from doorbell.device.runtime.command_registry import CommandRegistry, Handler
from doorbell.device.runtime.control import ControlServer
from doorbell.device.runtime.counters import Counters
from doorbell.device.runtime.footage_requests import FootageService
from doorbell.device.runtime.live_config import LiveConfig
from doorbell.device.runtime.mode_store import ModeStore
from doorbell.device.runtime.owner_actions import OwnerActions
from doorbell.device.runtime.pacing import Pacer
from doorbell.device.runtime.pipeline import Pipeline
from doorbell.device.runtime.policy import ModeEntered, Policy, SnapshotAsked
from doorbell.device.runtime.reactions import Reactions
from doorbell.device.runtime.recovery import close_crashed_events
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.runtime.run_summary import RunSummary
from doorbell.device.runtime.telemetry import Telemetry
from doorbell.device.sources.base import Source
from doorbell.device.system.memory import release_freed_memory
from doorbell.device.system.systemd import Notifier, Watchdog
from doorbell.motion.detector import MotionDetector
from doorbell.motion.events import EventTracker
from doorbell.uplink.command_models import (
    ClipDeleteCommand,
    ClipKeepCommand,
    CommandReply,
    FootageReviewCommand,
    ModeCommand,
    MotionCommand,
    PingCommand,
    PolygonsCommand,
    PressCommand,
    SnapshotCommand,
    StatusCommand,
)
from doorbell.uplink.embedded_broker import EmbeddedBroker
from doorbell.uplink.requests.audit import AuditLog
from doorbell.uplink.requests.command_models import FootageDecisionBody, FootageRequestBody
from doorbell.uplink.uplink import Uplink

if TYPE_CHECKING:
    from doorbell.device.web.context import PageView
    from doorbell.device.web.server import WebServer

log = logging.getLogger(__name__)
# Freed memory goes back to the system once a second: a trim drops the pages of the frames freed
# since the last, which the next frames fault in again (every 0.2 s cost masked runs 0.2-0.6 ms
# a frame in real time, vtest, for 0.1-3 MB less private memory; issue 31).
TRIM_SECONDS = 1.0


class Device:
    def __init__(
        self, config: DoorbellConfig, source: Source, options: RunOptions | None = None
    ) -> None:
        """`source` is open already (see `device.runtime.startup.open_device`)."""
        options = options or RunOptions()
        duration, echo, clock, loaded = (
            options.duration,
            options.echo,
            options.clock,
            options.loaded,
        )
        notifier, reload, mode_from_flag = options.notifier, options.reload, options.mode_from_flag
        self.echo = echo
        self.source = source
        self.clock = clock
        self.data_dir = config.device.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.modes = ModeStore(config.device.data.mode)
        self.mode: Mode = (None if mode_from_flag else self.modes.load()) or config.device.mode
        self.started_monotonic = clock.monotonic()
        self.audit = AuditLog.in_dir(self.data_dir, clock.wall, config.audit.max_bytes)
        self.commands = CommandRegistry(self._command_handlers(), self.audit)
        self.uplink = Uplink(config, self.data_dir, dispatch=self.commands.dispatch)
        # Each entry's hash goes out at once: a copy off the device that a cut tail cannot reach.
        self.audit.on_append = self.uplink.publish_audit_head
        self.audit.on_tamper = self.uplink.publish_audit_alert
        self.audit.check_tail()  # a log cut while the device was off: a tamper entry, an alert
        self.alerts = Alerts(config.device.id, self.uplink.send_event, self.data_dir)
        self.recorder = Recorder(
            config.record,
            config.storage,
            config.privacy,
            self.data_dir,
            source.fps,
            (source.width, source.height),
            self.alerts.clip_done,  # the alert's `end` names the clip
            clock.wall,
            on_no_clip=self.alerts.no_clip,
            on_disk=self.uplink.publish_health,
        )
        if config.record.encoder == "auto" and config.record.mode != "off":
            # picamera2 encodes on the Pi's own hardware; an H.264 camera (a file, RTSP) without
            # masks is recorded from its own packets; anything else, the recorder encodes.
            # Recording off, neither: the recorder takes nothing, so their fragments would pile
            # up unread (vtest at 2 Mbit/s passed through: 120 MB private after 240 s, not 60).
            mask = self.recorder.mask
            encoded = camera_stream(source, config.record, mask)
            if encoded is not None:
                self.recorder.use_camera_stream(encoded)
            else:
                self.recorder.use_passthrough(passthrough_stream(source, config.record, mask))
        self.reactions = Reactions(
            lambda: self.policy,
            self.alerts,
            self.recorder,
            self.uplink,
            echo,
            clock.wall,
            config.classify,
        )
        self.footage = FootageService(
            config, self.data_dir, self.recorder.index, self.uplink, self.audit, clock.wall
        )
        self.owner = OwnerActions(  # clips, zones, masks, reviews (the local page, the socket)
            self.recorder.index,
            self.recorder.retention,
            self.footage.requests,
            lambda zones: self.live.apply_zones(zones),
            lambda masks: self.live.apply_masks(masks),
            loaded,
        )
        # A scripted scene's visitor presses the same button a wired one would.
        self.button = DoorbellButton(config.button, self.reactions.press, clock.monotonic)
        # A simulation at full speed has no camera to outrun: analyse, record and classify every
        # frame it should.
        lossless = not source.live and config.camera.speed == "max"
        self.reactions.classifier = open_stage(
            config.classify, self.reactions.on_labels, lossless, self.recorder.mask
        )
        self.pipeline = Pipeline(
            source,
            MotionDetector(config.motion, source.lores_size),
            EventTracker(config.motion),
            Pacer(config.camera.speed),
            self.reactions.on_analysed,
            self.recorder.push,
            config.runtime.analysis_queue,
            config.runtime.record_queue,
            duration,
            lossless=lossless,
            clock=clock.monotonic,
            on_button=self.button.pressed,
            on_end=lambda: self._stop.set(),  # the run is over: no wait for the main loop's tick
            on_taken=self.reactions.took,
        )
        self.live = LiveConfig(
            config,
            reload,
            self.pipeline,
            source,
            self.recorder.mask,
            self.uplink,
            self._sync_recorder,
        )
        self.control = ControlServer(
            config.device.data.control_socket, self.commands.control_request
        )
        self.broker: EmbeddedBroker | None = None  # open_device starts it when asked for
        self.notifier = notifier or Notifier()
        self.watchdog = Watchdog(self.notifier, self.frames_flowing, clock.monotonic)
        self._fps_mark = (self.started_monotonic, 0)
        self._reload_requested = threading.Event()
        self._stop = threading.Event()
        self.web = self._open_page() if config.web.listen else None  # refuses early

    def _open_page(self) -> WebServer:
        # Imported here, not at the top: aiohttp, Jinja2 and argon2 cost ~14 MB of RSS, which a
        # device without the page (a Pi's default) should not pay.
        from doorbell.device.web.server import WebServer

        return WebServer(self.page_view(), self.config.web)

    def page_view(self) -> PageView:
        """What the local page may read, and the command registry it changes things through."""
        from doorbell.device.web.context import PageView

        return PageView(
            config=lambda: self.config,
            mode=lambda: self.mode,
            counters=self.counters,
            broker_connected=lambda: self.uplink.connected,
            origin=self.owner.origin,
            last_frame=lambda: self.reactions.last_frame,
            snapshot_jpeg=lambda image: self.recorder.snapshot(image).jpeg,
            live_stream=lambda: self.recorder.cutter.stream,
            index=self.recorder.index,
            requests=self.footage.requests,
            audit=self.audit,
            dispatch=self.commands.dispatch,
            data_dir=self.data_dir,
            clock=self.clock,
        )

    @property
    def config(self) -> DoorbellConfig:
        """The config in effect (`LiveConfig`: a command, the page or a reload replaces it)."""
        return self.live.config

    @property
    def behaviour(self) -> ModeBehaviour:
        behaviour: ModeBehaviour = getattr(self.config.modes, self.mode)
        return behaviour

    @property
    def policy(self) -> Policy:
        return Policy(self.behaviour, self.config.record.mode)

    # -- life cycle ------------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None) -> RunSummary:
        self._stop = stop or threading.Event()
        repaired = self.recorder.start()
        health = self.recorder.status()  # retained: what the last run said may no longer hold
        self.uplink.publish_health(health.state, health.failure)
        self._sync_recorder()
        self.uplink.start()
        close_crashed_events(
            self.recorder.index,
            repaired,
            self.alerts,
            self.uplink.set_motion,
            clip_follows=self.config.record.mode == "events",
        )
        self.uplink.publish_mode(self.mode)
        self.reactions.all_labels_off()
        self.live.publish_motion_settings()
        self.control.start()
        self.button.start()
        began = self.clock.monotonic()
        # A simulated frame's wall time: when it is shown (the pipeline's pacer starts its
        # schedule as it starts, right after this).
        self.source.set_start_wall(self.clock.wall())
        if self.reactions.classifier is not None:
            self.reactions.classifier.start()
        self.pipeline.start()
        self.notifier.notify("READY=1")
        if self.config.runtime.watchdog:
            self.watchdog.start()
        self.footage.start(self._stop)
        threading.Thread(target=self._telemetry_loop, name="telemetry", daemon=True).start()
        if self.web is not None:
            self.web.start()
        log.info("running in mode %s; camera %s", self.mode, self.config.camera.source)
        trimmed = began
        try:
            while self.pipeline.running and not self._stop.is_set():
                self._stop.wait(0.2)
                if self._reload_requested.is_set():
                    self._reload_requested.clear()
                    self.live.reload()
                if self.clock.monotonic() - trimmed >= TRIM_SECONDS:
                    trimmed = self.clock.monotonic()
                    release_freed_memory()  # at full speed it keeps ~8 MB off the peak
        finally:
            self.notifier.notify("STOPPING=1")
            self._shutdown()
        return RunSummary.of(
            self.counters(),
            self.clock.monotonic() - began,
            broker=self.uplink.url,
            connected=self.uplink.ever_connected,
            started_at=self.source.start_wall,
        )

    def _shutdown(self) -> None:
        """Finish the clip, flush the outbox as far as the broker allows, say offline."""
        self._stop.set()
        seconds = self.config.runtime.shutdown_seconds
        if self.web is not None:
            self.web.stop()
        self.pipeline.stop_requested.set()
        self.pipeline.join(seconds)
        if self.reactions.classifier is not None:
            self.reactions.classifier.stop(seconds)
        self.reactions.settle()  # a start still waiting for its label goes out now
        self.watchdog.stop()
        self.button.stop()
        self.control.stop()
        self.recorder.close()
        self.alerts.flush()
        self.uplink.set_motion(False)
        self.reactions.all_labels_off()
        self.source.close()
        self.footage.stop(seconds)
        self.uplink.stop(seconds)
        if self.broker is not None:
            self.broker.stop()

    def request_reload(self) -> None:
        self._reload_requested.set()

    def frames_flowing(self) -> bool:
        stall = max(self.config.runtime.stall_seconds, 3.0 / self.source.fps)
        return self.clock.monotonic() - self.pipeline.stats.last_frame_monotonic < stall

    def _sync_recorder(self) -> None:
        self.recorder.continuous = self.policy.continuous
        if self.policy.recording:
            self.recorder.resume()

    # -- commands: MQTT and the control socket, through one registry -----------------------------
    def _command_handlers(self) -> dict[type[BaseModel], Handler]:
        return {
            ModeCommand: lambda body: self.set_mode(body.mode),
            PressCommand: lambda body: CommandReply.success(event_id=self.reactions.press()),
            SnapshotCommand: lambda body: self.send_snapshot(),
            MotionCommand: lambda body: self.live.update_motion(
                body.model_dump(exclude={"request_id"})
            ),
            FootageRequestBody: lambda body: self.footage.handle_request(body),
            FootageDecisionBody: lambda body: self.footage.handle_decision(body),
            StatusCommand: lambda body: CommandReply.success(**self.telemetry().model_dump()),
            PingCommand: lambda body: CommandReply.success(),
            # The registry is made before the owner's parts exist (the uplink needs it first).
            ClipKeepCommand: lambda body: self.owner.keep_clip(body),
            ClipDeleteCommand: lambda body: self.owner.delete_clip(body),
            PolygonsCommand: lambda body: self.owner.set_polygons(body),
            FootageReviewCommand: lambda body: self.owner.review_request(body),
        }

    def send_snapshot(self) -> CommandReply:
        if not self.policy.decide(SnapshotAsked()).snapshot:
            return CommandReply.failure(f"snapshots are off in mode {self.mode}")
        frame = self.reactions.last_frame
        if frame is None:
            return CommandReply.failure("no frame yet")
        snap = self.recorder.snapshot(frame.main)
        self.uplink.send_snapshot(snap.jpeg, snap.picture)
        return CommandReply.success()

    def set_mode(self, mode: Mode) -> CommandReply:
        self.mode = mode
        self.modes.save(self.mode)
        frame = self.reactions.last_frame
        if frame is not None and self.policy.decide(ModeEntered()).stop_recording:
            self.recorder.cut(frame.t)
        self._sync_recorder()
        self.uplink.publish_mode(self.mode)
        log.info("mode is now %s", self.mode)
        return CommandReply.success(mode=self.mode)

    # -- counters and telemetry ------------------------------------------------------------------
    def counters(self) -> Counters:
        """Everything the device counts, now: telemetry and the run summary both format this."""
        return Counters.gather(
            self.pipeline,
            self.source,
            self.reactions.classifier,
            self.uplink.stats,
            self.alerts,
            self.recorder.status(),
            self.fps_now(),
        )

    def telemetry(self) -> Telemetry:
        uptime = self.clock.monotonic() - self.started_monotonic
        return Telemetry.of(self.counters(), self.mode, uptime, self.data_dir)

    def fps_now(self) -> float:
        """Frames per second since the last time anyone asked."""
        now, frames = self.clock.monotonic(), self.pipeline.stats.frames
        last_at, last_frames = self._fps_mark
        self._fps_mark = (now, frames)
        return (frames - last_frames) / (now - last_at) if now > last_at else 0.0

    def _telemetry_loop(self) -> None:
        while not self._stop.wait(self.config.uplink.telemetry_seconds):
            self.uplink.send_telemetry(self.telemetry().model_dump())
