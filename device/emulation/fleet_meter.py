"""What a fleet achieved, measured from outside: a subscriber on the broker receives every
device's `event` messages, and each is matched to the moment its device raised it.

Alerts are counted by (`id`, `state`): an alert's `start` and `end` are two messages; a message
delivered twice (QoS 1 allows it) counts once, as a duplicate. Latency is from the device raising
the alert (before its outbox) to the subscriber receiving it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt

from doorbell.config.uplink import MqttConfig
from doorbell.uplink.messages import EventMessage
from doorbell.uplink.mqtt_link import configure_client

Key = tuple[str, str]  # (id, state)


@dataclass
class Second:
    """One second of the run (host time): what happened in it."""

    at: int
    sent: int = 0
    acked: int = 0
    delivered: int = 0
    latencies_ms: list[float] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


class FleetMeter:
    def __init__(self, mqtt_cfg: MqttConfig, event_topic: str) -> None:
        """`event_topic`: every device's event topic, with a wildcard (`doorbell/+/event`)."""
        self._lock = threading.Lock()
        self.raised: dict[Key, float] = {}  # host monotonic time the device raised it
        self.delivered: dict[Key, float] = {}  # latency in ms, first delivery
        self.duplicates = 0
        self.foreign = 0  # messages on the topic that no device of this fleet raised
        self.began = time.monotonic()
        self.seconds: list[Second] = [Second(0)]
        self._acked_total = 0
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        configure_client(self.client, mqtt_cfg)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(event_topic, qos=1)
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message
        self._address = (mqtt_cfg.host, mqtt_cfg.port)

    def start(self, timeout: float = 10.0) -> bool:
        self.client.connect_async(*self._address)
        self.client.loop_start()
        return self._subscribed.wait(timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _second(self, now: float) -> Second:
        at = int(now - self.began)
        while self.seconds[-1].at < at:
            self.seconds.append(Second(self.seconds[-1].at + 1))
        return self.seconds[-1]

    # -- the devices' side (any thread) ------------------------------------------------------------
    def alert_raised(self, message: EventMessage) -> None:
        now = time.monotonic()
        with self._lock:
            self.raised[(message.id, message.state)] = now
            self._second(now).sent += 1

    def acked_total(self, total: int) -> None:
        """The fleet's PUBACK count so far (summed over the devices' outboxes)."""
        with self._lock:
            self._second(time.monotonic()).acked += total - self._acked_total
            self._acked_total = total

    # -- paho's network thread ---------------------------------------------------------------------
    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        try:
            body = json.loads(msg.payload)
            key = (str(body["id"]), str(body["state"]))
        except (ValueError, KeyError, TypeError):
            return
        with self._lock:
            raised = self.raised.get(key)
            if raised is None:
                self.foreign += 1
            elif key in self.delivered:
                self.duplicates += 1
            else:
                latency = (now - raised) * 1000
                self.delivered[key] = latency
                second = self._second(now)
                second.delivered += 1
                second.latencies_ms.append(latency)

    # -- reading it --------------------------------------------------------------------------------
    def missing(self) -> int:
        with self._lock:
            return len(self.raised.keys() - self.delivered.keys())

    def wait_delivered(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.missing() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.missing()

    def last_second(self) -> Second:
        with self._lock:
            return self._second(time.monotonic())

    def summary(self) -> dict[str, Any]:
        with self._lock:
            latencies = list(self.delivered.values())
            return {
                "alerts_raised": len(self.raised),
                "alerts_acked": self._acked_total,
                "alerts_delivered": len(self.delivered),
                "missing": len(self.raised.keys() - self.delivered.keys()),
                "duplicates": self.duplicates,
                "latency_ms": {
                    "p50": percentile(latencies, 50),
                    "p99": percentile(latencies, 99),
                    "max": round(max(latencies), 1) if latencies else None,
                },
                "per_second": [
                    {"at": s.at, "sent": s.sent, "acked": s.acked, "delivered": s.delivered}
                    for s in self.seconds
                ],
            }
