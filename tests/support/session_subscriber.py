"""A subscriber with a persistent session: the broker keeps its QoS 1 messages while it is away
(or while the broker itself restarts, with persistence on), like a phone app's backend."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


class SessionSubscriber:
    def __init__(self, port: int, topics: list[str], client_id: str) -> None:
        self.payloads: list[tuple[str, bytes]] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.reconnect_delay_set(0.2, 1)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, clean_start=False, properties=props)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("session subscriber could not subscribe")

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.payloads.append((msg.topic, bytes(msg.payload)))
            self._cond.notify_all()

    def ids(self, topic_suffix: str = "/event") -> list[str]:
        """Event ids in arrival order, duplicates removed (at-least-once delivery)."""
        seen: dict[str, None] = {}
        with self._cond:
            for topic, payload in self.payloads:
                if topic.endswith(topic_suffix):
                    seen.setdefault(json.loads(payload)["id"], None)
        return list(seen)

    def wait_ids(self, count: int, timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(ids := self.ids()) < count and time.monotonic() < deadline:
            with self._cond:
                self._cond.wait(0.2)
        return ids

    def on(self, topic: str, count: int = 1, timeout: float = 10.0) -> list[bytes]:
        """Payloads on `topic` once there are `count` of them (or what came before `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [p for t, p in self.payloads if t == topic]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._cond.wait(left)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
