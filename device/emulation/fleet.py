"""Many emulated doorbells in one process, for load tests of whatever listens to them.

Each `FleetDevice` is a doorbell of its own: its own id, data dir, outbox, MQTT connection,
alerts, mode policy and reactions (the same `Reactions`, `Alerts` and `Uplink` a device runs).
What they share is the picture: a `SharedScene` renders and analyses the scenario once, and each
device replays the analysed moments at its own offset, so visits are staggered across the fleet
and one more device costs a connection and two small SQLite files, not a camera and a detector.

Clips are off at fleet scale (`record.mode: off`): no device encodes video. Fleet devices take
no MQTT commands and send no telemetry; they alert, ring, snapshot and keep their outbox.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from doorbell.config import DoorbellConfig
from doorbell.config.device import Mode, ModeBehaviour
from doorbell.device.emulation.shared_scene import Moment, Replay, SharedScene
from doorbell.device.recording.recorder import Recorder
from doorbell.device.runtime.alerts import Alerts
from doorbell.device.runtime.frame import Frame
from doorbell.device.runtime.policy import Policy
from doorbell.device.runtime.reactions import Reactions
from doorbell.uplink.messages import EventMessage
from doorbell.uplink.uplink import Uplink

log = logging.getLogger(__name__)

OnAlert = Callable[[EventMessage], None]
# paho-mqtt waits on its sockets with select(), which cannot watch a descriptor above 1023; each
# device holds 3 below that line (its socket and paho's wake-up pair; its 6 SQLite descriptors
# are kept above it), and the process needs some of its own.
SELECT_LIMIT = 1024
PAHO_DESCRIPTORS = 3
MAX_DEVICES = 300


def fleet_config(base: DoorbellConfig, device_id: str, data_dir: Path) -> DoorbellConfig:
    """One device's config: its own id and data dir; clips off; the broker given, never one of
    its own; no Home Assistant discovery (a load test must not fill someone's Home Assistant
    with hundreds of doorbells); the outbox survives a crash of the process but is not synced to
    disk for each alert (an emulated device has no power to lose, and hundreds of fsyncs on the
    replay's one thread would hold up every device behind them) and keeps no reserve for a full
    disk (hundreds of outboxes would each take a MiB of it)."""
    return base.model_copy(
        update={
            "device": base.device.model_copy(update={"id": device_id, "data_dir": data_dir}),
            "record": base.record.model_copy(update={"mode": "off"}),
            "mqtt": base.mqtt.model_copy(update={"embedded": False}),
            "uplink": base.uplink.model_copy(
                update={
                    "homeassistant": False,
                    "outbox": base.uplink.outbox.model_copy(
                        update={"synchronous": "normal", "reserve_bytes": 0}
                    ),
                }
            ),
        }
    )


class FleetDevice:
    def __init__(self, config: DoorbellConfig, scene: SharedScene, on_alert: OnAlert) -> None:
        self.config = config
        self.id = config.device.id
        self.mode: Mode = config.device.mode
        self._on_alert = on_alert
        data_dir = config.device.data_dir
        self.uplink = Uplink(config, data_dir)
        self.alerts = Alerts(self.id, self._publish, data_dir)
        self.recorder = Recorder(
            config.record,
            config.storage,
            config.privacy,
            data_dir,
            scene.fps,
            scene.size,
            self.alerts.clip_done,
        )
        self.reactions = Reactions(
            self._policy, self.alerts, self.recorder, self.uplink, lambda line: None, time.time
        )
        self.replay = Replay()

    def _policy(self) -> Policy:
        behaviour: ModeBehaviour = getattr(self.config.modes, self.mode)
        return Policy(behaviour, self.config.record.mode)

    def _publish(self, message: EventMessage) -> None:
        self._on_alert(message)  # before the outbox: the latency counts from here
        self.uplink.send_event(message)

    def start(self) -> None:
        self.recorder.start()
        self.uplink.start()
        self.uplink.publish_mode(self.mode)

    def show(self, moment: Moment, wall: float) -> None:
        """The shared picture at this moment, as this device's camera took it at `wall`."""
        shared = moment.frame
        frame = Frame(shared.seq, shared.t, wall, shared.main, shared.lores)
        self.reactions.took(frame)  # as the pipeline's analysis thread: taken, then analysed
        self.reactions.on_analysed(self.replay.updates(moment), moment.result, frame)

    def press(self) -> str:
        return self.reactions.press()

    def stop(self, timeout: float) -> None:
        """As a device stops: open alerts get their `end`, the outbox is flushed as far as the
        broker allows within `timeout`, `offline` is published."""
        self.alerts.flush()
        self.uplink.set_motion(False)
        self.uplink.stop(timeout)
        self.recorder.close()


class Fleet:
    """`devices` FleetDevices on one shared scene, each starting `period / devices` seconds after
    the one before (simulated time), replayed at `speed` times real time."""

    def __init__(
        self,
        base: DoorbellConfig,
        scene: SharedScene,
        devices: int,
        root: Path,
        on_alert: OnAlert,
        id_prefix: str = "fleet",
        speed: float = 1.0,
    ) -> None:
        if devices > MAX_DEVICES:
            raise ValueError(
                f"at most {MAX_DEVICES} devices in one process (paho-mqtt waits with select(), "
                "which cannot watch descriptors above 1023): run more processes, or Locust workers"
            )
        self.scene, self.speed = scene, speed
        # Hold low descriptors while the devices open their databases, so that the sockets
        # opened later (release_descriptors, then connect) get numbers select() can watch.
        self._reserved = [
            os.open(os.devnull, os.O_RDONLY) for _ in range(devices * PAHO_DESCRIPTORS + 8)
        ]
        width = len(str(devices))
        self.devices = [
            FleetDevice(
                fleet_config(base, f"{id_prefix}-{n:0{width}d}", root / f"{n:0{width}d}"),
                scene,
                on_alert,
            )
            for n in range(1, devices + 1)
        ]
        self.offsets = [i * scene.period / devices for i in range(devices)]
        self.start_wall = 0.0
        self.lag = 0.0  # the most the replay fell behind its schedule (host seconds)
        self.lags: list[float] = []  # how late each moment was shown (host seconds)
        self.sim_time = 0.0

    def release_descriptors(self) -> None:
        """Free the low descriptors held since construction: call just before opening sockets
        (the fleet's own subscriber, then `connect`)."""
        for fd in self._reserved:
            os.close(fd)
        self._reserved = []

    def connect(self, timeout: float, stop: threading.Event) -> int:
        """Start every device and wait (up to `timeout`) until all are connected; returns how
        many are."""
        self.release_descriptors()
        for device in self.devices:
            device.start()
        deadline = time.monotonic() + timeout
        while not stop.is_set() and time.monotonic() < deadline:
            if all(d.uplink.connected for d in self.devices):
                break
            stop.wait(0.05)
        return self.connected()

    def connected(self) -> int:
        return sum(d.uplink.connected for d in self.devices)

    def run(self, duration: float, stop: threading.Event) -> None:
        """Replay `duration` simulated seconds: each device is shown each moment at its own
        time; moments are due at host time start + simulated time / speed."""
        step = 1.0 / self.scene.analysis_fps
        count = len(self.scene.moments)
        began, self.start_wall = time.monotonic(), time.time()
        # (simulated time, device index, moment number since the device started)
        due = [(offset, i, 0) for i, offset in enumerate(self.offsets) if offset < duration]
        heapq.heapify(due)
        while due and not stop.is_set():
            sim, index, number = heapq.heappop(due)
            late = time.monotonic() - (began + sim / self.speed)
            if late < 0 and stop.wait(-late):
                break
            self.lag = max(self.lag, late)
            self.lags.append(max(late, 0.0))
            self.sim_time = sim
            moment = self.scene.moments[number % count]
            try:
                self.devices[index].show(moment, self.start_wall + sim)
            except Exception:  # one device's failure must not stop the others
                log.exception("fleet device %s failed", self.devices[index].id)
            if sim + step < duration:
                heapq.heappush(due, (sim + step, index, number + 1))
        self.sim_time = duration

    def stop(self, timeout: float) -> None:
        """Stop every device; the outboxes are flushed in parallel, within `timeout` overall."""
        threads = [
            threading.Thread(target=d.stop, args=(timeout,), daemon=True) for d in self.devices
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout * 2
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
