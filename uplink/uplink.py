"""What the device sends and receives over MQTT: the facade the runtime calls.

Events and rings go through the durable outbox (on disk before they are published, deleted on
PUBACK, replayed after outages and restarts, in order). Retained state (motion, mode, snapshot)
and telemetry go straight to paho: only the latest value matters. Commands are parsed and carried
out on a worker thread, never on paho's network thread.
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
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt

from config import DoorbellConfig
from config.data_dir import DataDir
from uplink.commands import CommandError, parse_command, result_payload
from uplink.discovery import discovery_message
from uplink.e2e import AgeEncryptor
from uplink.embedded_broker import EmbeddedBroker, broker_answers
from uplink.jpeg_shrink import shrink_jpeg
from uplink.messages import EventMessage
from uplink.mqtt_link import MqttLink
from uplink.outbox import Outbox, OutboxRow
from uplink.outbox_sender import OutboxSender
from uplink.topics import Topics

log = logging.getLogger(__name__)
AGE_OVERHEAD = 1024  # bytes an age header and MAC add, at most, for a few recipients

JSON = "application/json"


@dataclass
class UplinkStats:
    connected: bool = False
    backlog: int = 0  # alerts in the outbox, not yet acknowledged by the broker
    dropped: int = 0  # alerts dropped to keep the outbox within its bounds (ever, persisted)
    sent: int = 0  # alerts acknowledged by the broker since start


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
        self._e2e = AgeEncryptor(config.privacy.e2e.recipients)
        self.clock = clock
        self.topics = Topics(config.base_topic)
        self.broker: EmbeddedBroker | None = None
        self.link: MqttLink | None = None
        cfg = config.uplink.outbox
        self.outbox = Outbox(
            DataDir(data_dir).outbox,
            cfg.max_messages,
            cfg.max_age_hours,
            clock=clock,
            synchronous=cfg.synchronous.upper(),
        )
        self.sender = OutboxSender(self.outbox, self, cfg.rate_per_second, window=cfg.inflight)
        self._commands: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=256)
        self._worker = threading.Thread(target=self._run_commands, name="commands", daemon=True)
        self._ha_status = f"{config.uplink.discovery_prefix}/status"
        self._stats = UplinkStats()

    @property
    def url(self) -> str:
        mqtt_cfg = self.config.mqtt
        return f"{'mqtts' if mqtt_cfg.tls else 'mqtt'}://{mqtt_cfg.host}:{mqtt_cfg.port}"

    @property
    def connected(self) -> bool:
        return bool(self.link and self.link.connected.is_set())

    @property
    def ever_connected(self) -> bool:
        return bool(self.link and self.link.ever_connected)

    @property
    def stats(self) -> UplinkStats:
        self._stats.connected = self.connected
        self._stats.backlog = self.outbox.backlog
        self._stats.dropped = self.outbox.dropped
        self._stats.sent = self.sender.acked
        return self._stats

    def start(self) -> None:
        mqtt_cfg = self.config.mqtt
        protocol = None
        if mqtt_cfg.embedded and mqtt_cfg.is_loopback():
            if broker_answers(mqtt_cfg.host, mqtt_cfg.port):
                log.info(
                    "embedded: using the broker answering on %s:%d", mqtt_cfg.host, mqtt_cfg.port
                )
            else:
                self.broker = EmbeddedBroker(mqtt_cfg.host, mqtt_cfg.port)
                self.broker.start()
                protocol = "3.1.1"  # amqtt speaks MQTT 3.1.1 only
                log.info("embedded: started amqtt on %s:%d", mqtt_cfg.host, mqtt_cfg.port)
        link = MqttLink(
            mqtt_cfg,
            self.config.device.id,
            self.topics,
            allow_insecure=self.config.uplink.allow_insecure,
            protocol=protocol,
        )
        if self.config.uplink.homeassistant:
            link.subscriptions.append((self._ha_status, 1))
        link.on_connected = self._on_connected
        link.on_published = self.sender.on_published
        link.on_message = self._on_message
        self.link = link
        backlog = self.outbox.backlog
        if backlog:
            log.info("outbox: %d alert(s) from before are waiting to be sent", backlog)
        self.sender.start()
        self._worker.start()
        link.start()

    # -- the outbox sender's view of the link (Publisher) ---------------------------------------
    def is_connected(self) -> bool:
        return self.connected

    def publish_row(self, row: OutboxRow) -> int | None:
        if self.link is None:
            return None
        left = self.outbox.max_age_seconds - (self.clock() - row.created)
        info = self.link.publish(
            row.topic, row.payload, qos=1, content_type=row.content_type, expiry=max(1, int(left))
        )
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            return None
        return int(info.mid)

    # -- what the runtime calls -----------------------------------------------------------------
    def _enqueue(self, topic: str, message: EventMessage) -> None:
        self.outbox.add(topic, message.model_dump_json(), JSON)
        self.sender.notify()

    def send_event(self, message: EventMessage) -> None:
        self._enqueue(self.topics.event, message)

    def send_ring(self, message: EventMessage) -> None:
        self._enqueue(self.topics.ring, message)

    def _publish(
        self,
        topic: str,
        payload: bytes | str,
        retain: bool = False,
        content_type: str | None = None,
        expiry: int | None = None,
    ) -> None:
        if self.link is not None:
            self.link.publish(
                topic, payload, qos=1, retain=retain, content_type=content_type, expiry=expiry
            )

    def set_motion(self, on: bool) -> None:
        self._publish(self.topics.motion, "ON" if on else "OFF", retain=True)

    def send_snapshot(self, jpeg: bytes, picture: np.ndarray | None = None) -> None:
        """Publish a JPEG, re-encoded smaller if it is over the broker's limit (from `picture`,
        the image it shows, when the caller still has it)."""
        limit = self.config.uplink.max_payload_bytes
        if self._e2e.enabled:
            limit -= AGE_OVERHEAD
        fitted = shrink_jpeg(jpeg, limit, picture)
        if fitted is None:
            log.warning("snapshot left out: %d bytes cannot be made to fit %d", len(jpeg), limit)
            return
        if self._e2e.enabled:  # only the owner's phones can look
            self._publish(
                self.topics.snapshot, self._e2e.encrypt(fitted), retain=True,
                content_type="application/age",
            )  # fmt: skip
            return
        self._publish(self.topics.snapshot, fitted, retain=True, content_type="image/jpeg")

    def send_result(self, name: str, payload: bytes) -> None:
        """A command's result published later (footage requests decided or shared afterwards)."""
        self._publish(self.topics.command_result(name), payload, content_type=JSON)

    def send_telemetry(self, values: dict[str, Any]) -> None:
        expiry = int(self.config.uplink.telemetry_seconds * 2)
        self._publish(
            self.topics.telemetry, json.dumps(values, default=str), content_type=JSON, expiry=expiry
        )

    def publish_mode(self, mode: str) -> None:
        self._publish(self.topics.mode, mode, retain=True)

    def publish_discovery(self) -> None:
        if not self.config.uplink.homeassistant:
            return
        topic, payload = discovery_message(
            self.config.uplink.discovery_prefix, self.config.device.id, self.topics
        )
        self._publish(topic, payload, retain=True, content_type=JSON)

    def stop(self, timeout: float = 5.0) -> None:
        if self.connected:
            self.sender.wait_idle(timeout / 2)  # what is not acknowledged stays in the outbox
        self.sender.stop(timeout)
        self._commands.put(None)
        if self._worker.is_alive():
            self._worker.join(timeout)
        if self.link is not None:
            self.link.stop(timeout)
        # the outbox stays open: stats still answer, and an alert raised after stop is kept on
        # disk for the next start
        if self.broker is not None:
            self.broker.stop()

    # -- paho's network thread: hand over, never wait ------------------------------------------
    def _on_connected(self) -> None:
        self.publish_discovery()
        self.sender.on_connected()

    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic == self._ha_status:
            if payload.strip().lower() == b"online":
                self.publish_discovery()
            return
        prefix = self.topics.command("")
        if not topic.startswith(prefix):
            return
        try:
            self._commands.put_nowait((topic[len(prefix) :], payload))
        except queue.Full:
            log.warning("command on %s dropped: too many commands waiting", topic)

    # -- the command worker ---------------------------------------------------------------------
    def _run_commands(self) -> None:
        while True:
            item = self._commands.get()
            if item is None:
                return
            name, payload = item
            try:
                self._answer(name, payload)
            except Exception:  # one bad command must not end command handling
                log.exception("command %r failed", name)

    def _answer(self, name: str, payload: bytes) -> None:
        result_topic = self.topics.command_result(name)
        try:
            command = parse_command(name, payload, self.config.uplink.max_command_bytes)
        except CommandError as exc:
            log.warning("command %r refused: %s", name[:64], exc)
            self._publish(result_topic, result_payload(exc.request_id, False, str(exc)))
            return
        request_id = command.request_id
        if name == "ping":
            self._publish(result_topic, result_payload(request_id, True, None), content_type=JSON)
            return
        if self.on_command is None:
            reply: Any = {"ok": False, "error": "this device takes no commands"}
        else:
            try:
                reply = self.on_command(name, command.body)
            except Exception as exc:
                log.exception("command %r raised", name)
                reply = {"ok": False, "error": f"failed: {exc}".splitlines()[0][:200]}
        if not isinstance(reply, dict):
            dump = getattr(reply, "model_dump", None)
            reply = dump(mode="json") if dump else {"ok": bool(reply), "error": None}
        extra = {k: v for k, v in reply.items() if k not in ("ok", "error", "request_id")}
        if request_id is None and isinstance(reply.get("request_id"), str):
            request_id = reply["request_id"]
        ok = bool(reply.get("ok"))
        error = reply.get("error")
        if not ok:
            log.info("command %r answered with an error: %s", name, error)
        self._publish(result_topic, result_payload(request_id, ok, error, extra), content_type=JSON)
