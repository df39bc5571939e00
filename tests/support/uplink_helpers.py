"""Helpers for uplink tests: configs, events, and a subscriber whose session outlives outages."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from doorbell.config import DoorbellConfig
from doorbell.uplink.messages import EventMessage


def uplink_config(port: int, data_dir: Path, **uplink: Any) -> DoorbellConfig:
    mqtt_cfg = uplink.pop("mqtt", {})
    return DoorbellConfig.model_validate(
        {
            "device": {"id": "porch", "data_dir": str(data_dir)},
            "mqtt": {"host": "127.0.0.1", "port": port, "embedded": False, **mqtt_cfg},
            "uplink": uplink,
        }
    )


def event(n: int) -> EventMessage:
    return EventMessage(
        id=f"ev-{n:05d}",
        device="porch",
        type="motion",
        state="start",
        start="2026-11-28T19:29:10.125Z",
        end=None,
        score=1.0,
        boxes=[],
        zones=[],
        clip=None,
    )


class SessionSubscriber:
    """QoS 1 subscriber with a persistent session: the broker keeps what arrives while it is
    away (across a broker restart too, with persistence on)."""

    def __init__(self, port: int, topics: list[str], client_id: str = "watcher") -> None:
        self.payloads: list[tuple[str, bytes]] = []
        self.properties: list[dict[str, Any]] = []  # MQTT 5 properties, as paho gives them
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.reconnect_delay_set(0.2, 1)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_connect = self._on_connect
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self._topics = topics
        self.client.connect("127.0.0.1", port, clean_start=False, properties=props)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("could not subscribe")

    def _on_connect(self, client: mqtt.Client, u: Any, flags: Any, rc: Any, p: Any) -> None:
        if not flags.session_present:
            client.subscribe([(t, 1) for t in self._topics])
        else:
            self._subscribed.set()

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.payloads.append((msg.topic, bytes(msg.payload)))
            props = getattr(msg, "properties", None)
            self.properties.append(props.json() if props is not None else {})
            self._cond.notify_all()

    def ids(self) -> list[str]:
        with self._cond:
            return [json.loads(p)["id"] for _, p in self.payloads]

    def unique_ids(self) -> list[str]:
        """Ids in order of first arrival (at-least-once: consumers de-duplicate by id)."""
        seen: dict[str, None] = {}
        for i in self.ids():
            seen.setdefault(i, None)
        return list(seen)

    def wait_for_count(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.unique_ids()) >= n:
                return True
            with self._cond:
                self._cond.wait(0.1)
        return False

    def wait_for_messages(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.payloads) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
