"""What the device sends and receives over MQTT (first version: publishes straight through paho;
the durable outbox and commands replace the inside, not this interface)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import DoorbellConfig
from uplink.embedded_broker import EmbeddedBroker, broker_answers
from uplink.messages import EventMessage
from uplink.mqtt_link import MqttLink
from uplink.topics import Topics

log = logging.getLogger(__name__)


@dataclass
class UplinkStats:
    connected: bool = False
    backlog: int = 0
    dropped: int = 0
    sent: int = 0


class Uplink:
    def __init__(
        self,
        config: DoorbellConfig,
        data_dir: Path,
        on_command: Callable[[str, Any], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.on_command = on_command
        self.topics = Topics(config.base_topic)
        self.broker: EmbeddedBroker | None = None
        self.link: MqttLink | None = None
        self._stats = UplinkStats()

    @property
    def url(self) -> str:
        mqtt = self.config.mqtt
        return f"{'mqtts' if mqtt.tls else 'mqtt'}://{mqtt.host}:{mqtt.port}"

    @property
    def connected(self) -> bool:
        return bool(self.link and self.link.connected.is_set())

    @property
    def ever_connected(self) -> bool:
        return bool(self.link and self.link.ever_connected)

    @property
    def stats(self) -> UplinkStats:
        self._stats.connected = self.connected
        return self._stats

    def start(self) -> None:
        mqtt = self.config.mqtt
        protocol = None
        if mqtt.embedded and mqtt.is_loopback():
            if broker_answers(mqtt.host, mqtt.port):
                log.info("embedded: using the broker answering on %s:%d", mqtt.host, mqtt.port)
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

    def _publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        if self.link is not None:
            self.link.publish(topic, payload, qos=1, retain=retain)
            self._stats.sent += 1

    def send_event(self, message: EventMessage) -> None:
        self._publish(self.topics.event, message.model_dump_json())

    def send_ring(self, message: EventMessage) -> None:
        self._publish(self.topics.ring, message.model_dump_json())

    def set_motion(self, on: bool) -> None:
        self._publish(self.topics.motion, "ON" if on else "OFF", retain=True)

    def send_snapshot(self, jpeg: bytes) -> None:
        if len(jpeg) <= self.config.uplink.max_payload_bytes:
            self._publish(self.topics.snapshot, jpeg, retain=True)

    def send_telemetry(self, values: dict[str, Any]) -> None:
        import json

        self._publish(self.topics.telemetry, json.dumps(values))

    def publish_mode(self, mode: str) -> None:
        self._publish(self.topics.mode, mode, retain=True)

    def stop(self, timeout: float = 5.0) -> None:
        if self.link is not None:
            self.link.stop(timeout)
        if self.broker is not None:
            self.broker.stop()
