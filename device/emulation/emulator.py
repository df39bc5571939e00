"""`Doorbell`: an emulated device in a thread, for other projects' tests and demos.

The whole runtime runs (`device.runtime.device.Device`: pipeline, policy, alerts, outbox, MQTT link,
control socket), fed by an `EmulatedCamera` instead of a camera; you drive it from the test and
read what it published from the broker, as any consumer would:

    from doorbell.device.emulation import Doorbell

    with Doorbell({"mqtt": {"port": 1883}}, device_id="porch") as bell:
        bell.visit()                                   # a visitor walks up the path, now
        alert = bell.wait_for_event("motion", "start")
        ring_id = bell.press()                         # the button, as the control socket does
        bell.set_mode("home")                          # through the same command registry

`broker_outage(seconds)` drops this device's own connection (the broker stays up for everyone
else) and lets it reconnect after `seconds`; alerts raised meanwhile wait in the outbox and are
delivered afterwards. A real broker restart is `MosquittoBroker.outage` (the pytest plugin's
`mqtt_broker` fixture owns one).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from doorbell.config import DoorbellConfig
from doorbell.config.device import Mode
from doorbell.config.sources import merge
from doorbell.device.emulation.camera import EmulatedCamera
from doorbell.device.emulation.event_watch import EventWatcher, Published
from doorbell.device.runtime.counters import Counters
from doorbell.device.runtime.device import Device
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.runtime.run_summary import RunSummary
from doorbell.uplink.messages import EventMessage
from doorbell.uplink.mqtt_link import refuse_insecure

log = logging.getLogger(__name__)

# What an emulated device changes from the defaults (a dict given by the caller wins): no
# watchdog or systemd, no Home Assistant discovery, clips off (a test rarely wants encoding), and
# the broker it is given (never an embedded one of its own).
EMULATED_DEFAULTS: dict[str, Any] = {
    "mqtt": {"embedded": False},
    "runtime": {"watchdog": False, "shutdown_seconds": 5.0},
    "uplink": {"homeassistant": False},
    "record": {"mode": "off"},
}


def emulated_config(
    config: DoorbellConfig | Mapping[str, Any] | None = None,
    *,
    device_id: str | None = None,
    data_dir: Path | None = None,
    host: str | None = None,
    port: int | None = None,
) -> DoorbellConfig:
    """A validated config: a `DoorbellConfig` is taken as it is, a dict is laid over
    `EMULATED_DEFAULTS`; the keyword arguments win over both. Raises pydantic's ValidationError."""
    values = (
        config.model_dump()
        if isinstance(config, DoorbellConfig)
        else merge(EMULATED_DEFAULTS, config or {})
    )
    extra: dict[str, Any] = {}
    if device_id is not None:
        extra.setdefault("device", {})["id"] = device_id
    if data_dir is not None:
        extra.setdefault("device", {})["data_dir"] = str(data_dir)
    if host is not None:
        extra.setdefault("mqtt", {})["host"] = host
    if port is not None:
        extra.setdefault("mqtt", {})["port"] = port
    return DoorbellConfig.model_validate(merge(values, extra))


class Doorbell:
    """One emulated doorbell. `start()` (or `with`) runs it; `stop()` ends it like SIGTERM."""

    def __init__(
        self,
        config: DoorbellConfig | Mapping[str, Any] | None = None,
        *,
        scenario: str | None = None,
        device_id: str | None = None,
        data_dir: Path | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        """`scenario`: a library scenario name or YAML path, played once from the start (the
        porch then stays quiet); None: the quiet porch. `data_dir`: None makes a temporary one,
        removed at `stop()`."""
        self._own_dir: Path | None = None
        if data_dir is None and not _sets_data_dir(config):
            # short: the control socket's path must fit in 108 bytes
            self._own_dir = data_dir = Path(tempfile.mkdtemp(prefix="doorbell-"))
        self.config = emulated_config(
            config, device_id=device_id, data_dir=data_dir, host=host, port=port
        )
        refuse_insecure(self.config.mqtt, self.config.uplink.allow_insecure)
        self.camera = EmulatedCamera(scenario, self.config.camera)
        self.watcher = EventWatcher(
            self.config.mqtt, self.config.base_topic, f"{self.config.device.id}-watcher"
        )
        self.device: Device | None = None
        self.summary: RunSummary | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lines: list[str] = []  # what the device would print (ALERT/RING lines)
        self._outages: list[threading.Timer] = []

    @property
    def id(self) -> str:
        return self.config.device.id

    # -- life cycle ------------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> Doorbell:
        """Subscribe, start the device in a thread and wait until it is connected and the first
        frame is through; raises TimeoutError (the device is stopped again)."""
        self.watcher.start(timeout)
        self.camera.open()
        self.device = Device(self.config, self.camera, RunOptions(echo=self._lines.append))
        self._thread = threading.Thread(target=self._run, name=f"doorbell-{self.id}", daemon=True)
        self._thread.start()
        try:
            self.wait_until(self._running, timeout, "running")
        except TimeoutError:
            self.stop()
            raise
        return self

    def _running(self) -> bool:
        return self.connected and self.camera.stats.frames > 0

    def _run(self) -> None:
        assert self.device is not None
        try:
            self.summary = self.device.run(self._stop)
        except Exception:  # the thread must not die silently: the caller sees it at stop()
            log.exception("emulated doorbell %s failed", self.id)

    def stop(self) -> RunSummary | None:
        """Like SIGTERM: open alerts get their `end`, the outbox is flushed as far as the broker
        allows, `offline` is published. Returns the run summary."""
        self._stop.set()
        for timer in self._outages:  # a link that is to come back after the stop stays down
            timer.cancel()
        if self._thread is not None:
            self._thread.join(self.config.runtime.shutdown_seconds * 3)
        self.watcher.close()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
        return self.summary

    def __enter__(self) -> Doorbell:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- driving it ------------------------------------------------------------------------------
    def visit(self) -> float:
        """A visitor walks up the path from the next frame on (seen for about 14 s of frame
        time); returns that frame time. The alert follows when the motion rules say so."""
        return self.camera.visit()

    def lights_off(self) -> float:
        """The porch light goes off (a change of light, which must not raise an alert)."""
        return self.camera.lights_off()

    def press(self) -> str:
        """The doorbell button; returns the ring's event id."""
        reply = self._command({"cmd": "press"})
        return str(reply["event_id"])

    def set_mode(self, mode: Mode) -> None:
        """disarmed, home or away, as `doorbell mode` sets it (kept across restarts)."""
        self._command({"cmd": "mode", "mode": mode})

    def _command(self, request: dict[str, Any]) -> dict[str, Any]:
        reply = self._device().commands.control_request(request)
        if not reply.get("ok"):
            raise ValueError(f"{request['cmd']}: {reply.get('error')}")
        return reply

    def broker_outage(self, seconds: float) -> None:
        """This device loses its broker connection now and gets it back after `seconds` (host
        time, on a timer thread); returns at once. See the module docstring."""
        link = self._device().uplink.link
        if link is None:
            raise RuntimeError("the device has no broker link yet")
        client = link.client
        client.disconnect()  # paho's network loop ends after a disconnect we asked for

        def back() -> None:
            client.loop_stop()
            client.connect_async(link.cfg.host, link.cfg.port, keepalive=link.cfg.keepalive)
            client.loop_start()  # reconnects, and the link resends what waited

        timer = threading.Timer(seconds, back)
        timer.daemon = True
        self._outages.append(timer)
        timer.start()

    # -- what it published -----------------------------------------------------------------------
    def wait_for_event(
        self,
        type: str | None = None,
        state: str | None = "start",
        timeout: float = 30.0,
        where: Callable[[EventMessage], bool] | None = None,
    ) -> EventMessage:
        """The next event (as the broker delivered it) of this `type` ("motion", "ring") and
        `state` ("start", "end", None for either) not returned before; raises TimeoutError."""
        return self.watcher.wait_for_event(type, state, timeout, where)

    def wait_for(self, topic: str, payload: bytes, timeout: float = 30.0) -> Published:
        """The first message on `<base topic>/<topic>` with this payload (e.g. "motion", b"ON")."""
        return self.watcher.wait_for(topic, payload, timeout)

    def events(self) -> list[EventMessage]:
        """Every event the broker delivered from this device so far."""
        return self.watcher.events()

    def wait_connected(self, timeout: float = 30.0) -> None:
        self.wait_until(lambda: self.connected, timeout, "connected")

    @property
    def connected(self) -> bool:
        return self.device is not None and self.device.uplink.connected

    def counters(self) -> Counters:
        return self._device().counters()

    def _device(self) -> Device:
        if self.device is None:
            raise RuntimeError("the doorbell is not started")
        return self.device

    def wait_for_frame_time(self, t: float, timeout: float = 60.0) -> None:
        """Until the camera has delivered the frame at frame time `t` (e.g. `visit() + 9`: the
        visitor stands at the door)."""
        self.wait_until(lambda: self.camera.now() > t, timeout, f"at frame time {t:g} s")

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Polls `ready` until true; raises TimeoutError naming `what`."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self._thread is not None and not self._thread.is_alive():
                raise TimeoutError(f"doorbell {self.id} stopped before {what}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"doorbell {self.id}: not {what} within {timeout:g} s")
            time.sleep(0.02)


def _sets_data_dir(config: DoorbellConfig | Mapping[str, Any] | None) -> bool:
    if isinstance(config, DoorbellConfig):
        return "data_dir" in config.device.model_fields_set
    device = (config or {}).get("device")
    return isinstance(device, Mapping) and "data_dir" in device
