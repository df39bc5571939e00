"""What a device published, as the other side of the wire sees it: a paho subscriber on the
broker that parses `event` messages and lets a caller wait for the next one that matches.

Used by the emulated `Doorbell` (`wait_for_event`) and the pytest plugin. It subscribes before the
device starts, so nothing the device publishes is missed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from doorbell.config.uplink import MqttConfig
from doorbell.uplink.messages import EventMessage
from doorbell.uplink.mqtt_link import configure_client


@dataclass(frozen=True)
class Published:
    topic: str
    payload: bytes
    retain: bool
    at: float  # host monotonic time on arrival


class EventWatcher:
    """Subscribes to `<base>/#`; `wait_for_event` hands out each event once, in arrival order."""

    def __init__(self, mqtt_cfg: MqttConfig, base_topic: str, client_id: str) -> None:
        self.base = base_topic
        self.messages: list[Published] = []
        self._cond = threading.Condition()
        self._taken: set[int] = set()  # indexes in `messages` already handed out
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        configure_client(self.client, mqtt_cfg)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(f"{base_topic}/#", qos=1)
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message
        self._host, self._port = mqtt_cfg.host, mqtt_cfg.port

    def start(self, timeout: float = 10.0) -> None:
        self.client.connect_async(self._host, self._port)
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            self.close()
            raise TimeoutError(f"could not subscribe at {self._host}:{self._port}")

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(
                Published(msg.topic, bytes(msg.payload), msg.retain, time.monotonic())
            )
            self._cond.notify_all()

    def on(self, suffix: str) -> list[Published]:
        """Everything received on `<base>/<suffix>` so far (e.g. "motion", "mode")."""
        topic = f"{self.base}/{suffix}"
        with self._cond:
            return [m for m in self.messages if m.topic == topic]

    def events(self) -> list[EventMessage]:
        """Every event received so far, taken or not."""
        with self._cond:
            return [e for _, e in self._events()]

    def _events(self) -> list[tuple[int, EventMessage]]:
        found = []
        topic = f"{self.base}/event"
        for index, m in enumerate(self.messages):
            if m.topic != topic:
                continue
            try:
                found.append((index, EventMessage.model_validate_json(m.payload)))
            except ValidationError:
                continue  # not ours to judge here; the device's own tests check the format
        return found

    def wait_for_event(
        self,
        type: str | None = None,
        state: str | None = "start",
        timeout: float = 30.0,
        where: Callable[[EventMessage], bool] | None = None,
    ) -> EventMessage:
        """The first event not handed out before that matches `type` ("motion", "ring"),
        `state` ("start", "end"; None: either) and `where`; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index, event in self._events():
                    if index in self._taken:
                        continue
                    if type is not None and event.type != type:
                        continue
                    if state is not None and event.state != state:
                        continue
                    if where is not None and not where(event):
                        continue
                    self._taken.add(index)
                    return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"no {type or 'any'} event{f' ({state})' if state else ''} on "
                        f"{self.base}/event within {timeout:g} s"
                    )
                self._cond.wait(left)

    def wait_for(self, suffix: str, payload: bytes, timeout: float = 30.0) -> Published:
        """The first message on `<base>/<suffix>` with this payload (e.g. "mode", b"home")."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages:
                    if m.topic == f"{self.base}/{suffix}" and m.payload == payload:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {payload!r} on {self.base}/{suffix} in {timeout:g} s")
                self._cond.wait(left)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
