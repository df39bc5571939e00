"""What the device sends and receives over MQTT: the one object the runtime talks to.

Alerts (`event`, `ring`) go through the durable outbox; states (`motion`, `mode`, `snapshot`)
are retained and re-published after each reconnect; telemetry is sent only while connected.
Commands arrive on paho's thread and are handed to a worker thread, so a slow command never
stalls the network loop.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel

from config import DoorbellConfig
from config.device import Mode
from uplink.commands import CommandRegistry, CommandResult
from uplink.discovery import discovery_config, discovery_topic
from uplink.embedded_broker import EmbeddedBroker, broker_answers
from uplink.jpeg_fit import fit_jpeg
from uplink.messages import EventMessage
from uplink.mqtt_link import MqttLink
from uplink.outbox import Outbox
from uplink.outbox_sender import OutboxSender
from uplink.topics import Topics

log = logging.getLogger(__name__)

CommandHandler = Callable[[str, BaseModel], "CommandResult | dict[str, Any]"]


@dataclass
class UplinkStats:
    connected: bool = False
    backlog: int = 0  # alerts on disk not yet acknowledged by the broker
    inflight: int = 0  # of those, published and awaiting PUBACK
    dropped: int = 0  # alerts dropped by the outbox bounds, ever (kept across restarts)
    sent: int = 0  # alerts acknowledged by the broker in this process
    snapshots_shrunk: int = 0
    snapshots_left_out: int = 0
    commands: int = 0
    commands_refused: int = 0
    last_error: str | None = None


class Uplink:
    def __init__(
        self,
        config: DoorbellConfig,
        data_dir: Path,
        on_command: CommandHandler | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.on_command = on_command
        self.clock = clock
        self.topics = Topics(config.base_topic)
        up = config.uplink
        self.commands = CommandRegistry(up.max_command_bytes)
        self.outbox = Outbox(
            data_dir / "outbox.sqlite",
            up.outbox.max_messages,
            up.outbox.max_age_hours,
            clock,
            up.outbox.synchronous,
        )
        self.broker: EmbeddedBroker | None = None
        self.link: MqttLink | None = None
        self.sender: OutboxSender | None = None
        self._retained: dict[str, bytes] = {}
        self._retained_lock = threading.Lock()
        self._commands_q: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=32)
        self._command_thread: threading.Thread | None = None
        self._stats = UplinkStats()

    # -- state ------------------------------------------------------------------------------------
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
        s = self._stats
        s.connected = self.connected
        s.backlog = self.outbox.backlog
        s.dropped = self.outbox.dropped
        s.sent = self.sender.sent if self.sender else 0
        s.inflight = self.sender.inflight if self.sender else 0
        s.last_error = self.link.last_error if self.link else None
        return s

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> None:
        mqtt, up = self.config.mqtt, self.config.uplink
        protocol = None
        if mqtt.embedded and mqtt.is_loopback() and not mqtt.tls:
            if broker_answers(mqtt.host, mqtt.port):
                log.info("embedded: using the broker answering on %s:%d", mqtt.host, mqtt.port)
            else:
                self.broker = EmbeddedBroker(mqtt.host, mqtt.port)
                self.broker.start()
                protocol = "3.1.1"  # amqtt speaks MQTT 3.1.1 only
                log.info("embedded: started amqtt on %s:%d (MQTT 3.1.1)", mqtt.host, mqtt.port)
        link = MqttLink(
            mqtt,
            self.config.device.id,
            self.topics,
            allow_insecure=up.allow_insecure,
            protocol=protocol,
        )
        link.client.max_inflight_messages_set(up.outbox.inflight)
        if up.homeassistant:
            link.subscriptions.append((f"{up.discovery_prefix}/status", 1))
        self.sender = OutboxSender(self.outbox, link, up.outbox.rate_per_second, up.outbox.inflight)
        link.on_connected = self._on_connected
        link.on_published = self.sender.on_published
        link.on_message = self._on_message
        self.link = link
        if self.outbox.backlog:
            log.info("outbox: %d alert(s) from before waiting to be sent", self.outbox.backlog)
        self._command_thread = threading.Thread(
            target=self._command_loop, name="uplink-commands", daemon=True
        )
        self._command_thread.start()
        self.sender.start()
        link.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Send what the broker takes within `timeout`, say offline, disconnect."""
        deadline = time.monotonic() + timeout
        if self.sender is not None:
            if not self.sender.flush(max(0.0, timeout - 1.0)):
                log.warning("outbox: %d alert(s) kept for the next start", self.outbox.backlog)
            self.sender.stop()
        if self._command_thread is not None:
            self._commands_q.put(None)
            self._command_thread.join(2)
        if self.link is not None:
            self.link.stop(max(0.5, deadline - time.monotonic()))
        if self.broker is not None:
            self.broker.stop()
        self.outbox.close()

    # -- what the device sends --------------------------------------------------------------------
    def send_event(self, message: EventMessage) -> None:
        """On disk before this returns; published QoS 1; deleted on PUBACK."""
        self._durable(self.topics.event, message)

    def send_ring(self, message: EventMessage) -> None:
        self._durable(self.topics.ring, message)

    def _durable(self, topic: str, message: EventMessage) -> None:
        self.outbox.add(topic, message.model_dump_json().encode())
        if self.sender is not None:
            self.sender.notify()

    def set_motion(self, on: bool) -> None:
        self._state(self.topics.motion, b"ON" if on else b"OFF")

    def publish_mode(self, mode: str) -> None:
        self._state(self.topics.mode, mode.encode())

    def send_snapshot(self, jpeg: bytes) -> None:
        limit = self.config.uplink.max_payload_bytes
        fitted = fit_jpeg(jpeg, limit)
        if fitted is None:
            self._stats.snapshots_left_out += 1
            log.warning("snapshot left out: %d bytes do not fit in %d", len(jpeg), limit)
            return
        if len(fitted) < len(jpeg):
            self._stats.snapshots_shrunk += 1
        self._state(self.topics.snapshot, fitted)

    def send_telemetry(self, values: dict[str, Any] | BaseModel) -> None:
        if isinstance(values, BaseModel):
            values = values.model_dump(mode="json")
        if self.link is not None and self.connected:  # stale health is worthless later
            self.link.publish(
                self.topics.telemetry, json.dumps(values), content_type="application/json"
            )

    def _state(self, topic: str, payload: bytes) -> None:
        with self._retained_lock:
            self._retained[topic] = payload
        if self.link is not None and self.connected:
            self.link.publish(topic, payload, retain=True)

    def publish_discovery(self) -> None:
        up = self.config.uplink
        if self.link is None or not up.homeassistant:
            return
        config = discovery_config(self.config.device.id, self.topics, get_args(Mode))
        topic = discovery_topic(up.discovery_prefix, self.config.device.id)
        self.link.publish(topic, json.dumps(config), retain=True)

    # -- paho's thread: hand over, never wait -----------------------------------------------------
    def _on_connected(self) -> None:
        assert self.link is not None and self.sender is not None
        with self._retained_lock:
            states = list(self._retained.items())
        for topic, payload in states:
            self.link.publish(topic, payload, retain=True)
        self.publish_discovery()
        self.sender.on_connected()

    def _on_message(self, topic: str, payload: bytes) -> None:
        up = self.config.uplink
        if topic == f"{up.discovery_prefix}/status":
            if payload.strip() == b"online":
                self.publish_discovery()
            return
        prefix = self.topics.command("")
        if not topic.startswith(prefix):
            return
        try:
            self._commands_q.put_nowait((topic[len(prefix) :], payload))
        except queue.Full:
            self._reply(topic[len(prefix) :], None, CommandResult(False, "busy, try again"))

    # -- commands ---------------------------------------------------------------------------------
    def _command_loop(self) -> None:
        while (item := self._commands_q.get()) is not None:
            name, payload = item
            try:
                self._run_command(name, payload)
            except Exception:  # one bad command must not end the worker
                log.exception("command %s failed", name[:64])

    def _run_command(self, name: str, payload: bytes) -> None:
        self._stats.commands += 1
        parsed = self.commands.parse(name, payload)
        if parsed.body is None:
            self._stats.commands_refused += 1
            log.warning("command %r refused: %s", name[:64], parsed.error)
            self._reply(name, parsed.request_id, CommandResult(False, parsed.error))
            return
        if name == "ping":
            result = CommandResult(True, None, {"device": self.config.device.id})
        elif self.on_command is None:
            result = CommandResult(False, f"command {name!r} is not handled by this device")
        else:
            try:
                result = CommandResult.from_reply(self.on_command(name, parsed.body))
            except Exception as exc:
                log.exception("command %s failed", name)
                result = CommandResult(False, f"failed: {exc}")
        self._reply(name, parsed.request_id, result)

    def _reply(self, name: str, request_id: str | None, result: CommandResult) -> None:
        if self.link is None:
            return
        # a name that cannot be a topic level gets no result topic of its own
        safe = name if name and not any(c in name for c in "/#+\0") else "invalid"
        self.link.publish(
            self.topics.command_result(safe),
            result.payload(request_id),
            content_type="application/json",
        )
