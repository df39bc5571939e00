"""Locust users that are emulated doorbells: load spread over many machines with Locust's own
distributed mode (one master, workers anywhere), against the broker named by `--host`.

    pip install 'doorbell[dev]'   # or: pip install locust
    LOCUSTFILE=$(doorbell fleet --locustfile)    # this file's path
    locust -f "$LOCUSTFILE" --headless --master --expect-workers 2 -u 400 -r 20 -t 10m \\
        --host mqtt://broker.example:1883                      # on the master
    locust -f "$LOCUSTFILE" --worker --master-host MASTER      # on each worker machine

Each user is one `FleetDevice` (its own id, outbox, MQTT connection; paho runs under gevent,
as Locust monkey-patches threads and sockets), showing the scene `--doorbell-scenario` from the
moment it spawns, at `--doorbell-speed` times real time; the scene is rendered and analysed
once per worker process and shared by its users. Clips are off (`record.mode: off`). Each alert
message acknowledged by the broker is reported as a request `MQTT alert`, its response time
from the device raising it to the PUBACK; an alert dropped from the outbox or a device that
cannot connect is reported as a failure.
"""

from __future__ import annotations

import collections
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
from locust import User, events, task
from locust.env import Environment

from doorbell.device.emulation.emulator import emulated_config
from doorbell.device.emulation.fleet import FleetDevice, fleet_config
from doorbell.device.emulation.shared_scene import SharedScene
from doorbell.uplink.messages import EventMessage

CONNECT_SECONDS = 30.0
_scenes: dict[str, SharedScene] = {}  # one per scenario in this process, shared by its users


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--doorbell-scenario", default="walk_up_ring", help="scene to show")
    parser.add_argument("--doorbell-speed", type=float, default=1.0, help="simulated s per s")


def broker_of(host: str | None) -> dict[str, Any]:
    """`--host mqtt://HOST:PORT` (or mqtts://) as the config's `mqtt` section."""
    parts = urlsplit(host or "mqtt://127.0.0.1:1883")
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"--host {host!r}: expected mqtt://HOST:PORT or mqtts://HOST:PORT")
    tls = parts.scheme == "mqtts"
    return {"host": parts.hostname, "port": parts.port or (8883 if tls else 1883), "tls": tls}


class DoorbellUser(User):
    """One emulated doorbell per user."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        options = environment.parsed_options
        self.scenario = getattr(options, "doorbell_scenario", "walk_up_ring")
        self.speed = float(getattr(options, "doorbell_speed", 1.0))
        self._raised: collections.deque[float] = collections.deque()  # in outbox order
        self._acked = 0
        self._dropped = 0

    def on_start(self) -> None:
        base = emulated_config({"mqtt": broker_of(self.host)})
        scene = _scenes.get(self.scenario)
        if scene is None:
            scene = _scenes[self.scenario] = SharedScene(self.scenario, base.motion, base.camera)
        self.scene = scene
        self.root = Path(tempfile.mkdtemp(prefix="doorbell-locust-"))
        device_id = f"locust-{uuid.uuid4().hex[:10]}"
        self.device = FleetDevice(fleet_config(base, device_id, self.root), scene, self._alert)
        began = time.monotonic()
        self.device.start()
        while not self.device.uplink.connected:
            if time.monotonic() - began > CONNECT_SECONDS:
                self._report("connect", began, RuntimeError("could not connect to the broker"))
                break
            gevent.sleep(0.05)
        else:
            self._report("connect", began, None)
        self.began, self.start_wall, self.number = time.monotonic(), time.time(), 0

    def _alert(self, message: EventMessage) -> None:
        self._raised.append(time.monotonic())

    def _report(self, name: str, since: float, error: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="MQTT",
            name=name,
            response_time=(time.monotonic() - since) * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    @task
    def show_the_next_frame(self) -> None:
        """One analysed frame of the shared scene, when it is due; then what the broker has
        acknowledged since is reported."""
        sim = self.number / self.scene.analysis_fps
        gevent.sleep(max(0.0, self.began + sim / self.speed - time.monotonic()))
        self.device.show(
            self.scene.moments[self.number % len(self.scene.moments)], self.start_wall + sim
        )
        self.number += 1
        self._report_acks()

    def _report_acks(self) -> None:
        acked = self.device.uplink.sender.acked
        for _ in range(acked - self._acked):  # the outbox is sent and acknowledged in order
            if self._raised:
                self._report("alert", self._raised.popleft(), None)
        self._acked = acked
        dropped = self.device.uplink.outbox.dropped
        for _ in range(dropped - self._dropped):
            self._report("alert", time.monotonic(), RuntimeError("dropped from a full outbox"))
        self._dropped = dropped

    def on_stop(self) -> None:
        self.device.stop(5.0)
        self._report_acks()
        shutil.rmtree(self.root, ignore_errors=True)
