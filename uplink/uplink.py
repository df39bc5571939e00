"""What the device sends and receives over MQTT: the facade the runtime calls.

Events and rings go through the durable outbox (on disk before they are published, deleted on
PUBACK, replayed after outages and restarts, in order). Retained state (motion, mode, snapshot)
and telemetry go straight to paho: only the latest value matters. Commands are parsed and carried
out on a worker thread, never on paho's network thread, by the `Dispatch` the device hands in.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from doorbell.config import DoorbellConfig
from doorbell.config.data_dir import DataDir
from doorbell.uplink.answered_commands import AnsweredCommands
from doorbell.uplink.command_auth import CommandGate
from doorbell.uplink.command_intake import CommandIntake, Incoming
from doorbell.uplink.command_models import (
    COMMANDS,
    CommandError,
    CommandReply,
    Dispatch,
    answer,
    parse_command,
)
from doorbell.uplink.discovery import discovery_message
from doorbell.uplink.e2e import AgeEncryptor
from doorbell.uplink.jpeg_shrink import Picture, shrink_jpeg
from doorbell.uplink.messages import EventMessage
from doorbell.uplink.mqtt_link import MqttLink
from doorbell.uplink.outbox import Outbox, OutboxRow
from doorbell.uplink.outbox_sender import OutboxSender
from doorbell.uplink.replay_guard import ReplayGuard
from doorbell.uplink.requests.audit_head import AuditHead
from doorbell.uplink.topics import Topics

log = logging.getLogger(__name__)
AGE_OVERHEAD = 1024  # bytes an age header and MAC add, at most, for a few recipients

JSON = "application/json"


@dataclass
class UplinkStats:
    connected: bool = False
    backlog: int = 0  # alerts in the outbox, not yet acknowledged by the broker
    dropped: int = 0  # alerts dropped to keep the outbox within its bounds (ever, persisted)
    sent: int = 0  # alerts acknowledged by the broker since start
    commands_dropped: int = 0  # commands over a budget (total, topic, owner's) or the queue's bound
    commands_junk: int = 0  # unknown names, oversized, forged owner-lane bodies, unanswerable
    unstored: int = 0  # alerts sent without the outbox: the disk and its reserve were full
    broker_resets: int = 0  # connections dropped for a backlog of unread messages (a flood)


class Uplink:
    def __init__(
        self,
        config: DoorbellConfig,
        data_dir: Path,
        dispatch: Dispatch | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.dispatch = dispatch
        self._e2e = AgeEncryptor(config.privacy.e2e.recipients)
        self.clock = clock
        self.topics = Topics(config.base_topic)
        self.link: MqttLink | None = None
        cfg = config.uplink.outbox
        self.outbox = Outbox(
            DataDir(data_dir).outbox,
            cfg.max_messages,
            cfg.max_age_hours,
            clock=clock,
            synchronous=cfg.synchronous.upper(),
            reserve_bytes=cfg.reserve_bytes,
        )
        self.sender = OutboxSender(self.outbox, self, cfg.rate_per_second, window=cfg.inflight)
        commands = config.uplink.commands
        self.gate = CommandGate(
            config.device.id, commands, ReplayGuard(DataDir(data_dir).replay_guard), clock
        )
        self.intake = CommandIntake(
            COMMANDS,
            commands,
            self.gate.owner_key_ids,
            config.uplink.max_command_bytes,
            clock,
            self.gate.signed_by_owner,
        )
        # A signed copy sent again passes the gate (a fresh nonce) while it could (2 x skew).
        self.answered = AnsweredCommands(2 * commands.max_skew_seconds, clock)
        self._worker = threading.Thread(target=self._run_commands, name="commands", daemon=True)
        self._ha_status = f"{config.uplink.discovery_prefix}/status"
        # Every retained state as last set: published again after each reconnect, since a broker
        # that restarted without persistence has forgotten it (Home Assistant would show unknown).
        self._retained: dict[str, tuple[bytes | str, str | None]] = {}
        self._retained_lock = threading.Lock()
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
        self._stats.commands_dropped = self.intake.counts.dropped
        self._stats.commands_junk = self.intake.counts.junk
        self._stats.broker_resets = self.link.backlog.resets if self.link else 0
        return self._stats

    def start(self) -> None:
        link = MqttLink(
            self.config.mqtt,
            self.config.device.id,
            self.topics,
            allow_insecure=self.config.uplink.allow_insecure,
            max_incoming_bytes=self.config.uplink.max_incoming_bytes,
        )
        # Each command of the registry by name, not `cmd/+`: a made-up name then has no subscriber
        # and the broker discards it, so a flood of them never reaches the device. QoS 0: the
        # session ends with the connection, so QoS 1 redelivers nothing, and under a flood on
        # cmd/mode QoS 1 did worse (benchmarks/security.py --flood mixed: a ping after the flood
        # unanswered for 30 s once, the owner's command past 10 s once, in 8 floods; with QoS 0
        # neither in 13). A lost copy is sent again by the owner's client.
        link.subscriptions = [(self.topics.command(name), 0) for name in sorted(COMMANDS)]
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
            row.topic,
            row.payload,
            qos=1,
            content_type=row.content_type,
            expiry=max(1, int(left)),
            hold=False,  # the row stays in the outbox: sent again once connected
        )
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        return int(info.mid)

    # -- what the runtime calls -----------------------------------------------------------------
    def _enqueue(self, topic: str, message: EventMessage) -> None:
        payload = message.model_dump_json()
        try:
            self.outbox.add(topic, payload, JSON)
        except (OSError, sqlite3.Error) as exc:
            # The disk is full and the outbox's reserve used up: the alert still goes, now, held
            # in paho's memory until the broker has it; it is lost only if the device stops first.
            self._stats.unstored += 1
            log.error("alert %s not stored (%s): sent without the outbox", message.id, exc)
            self._publish(topic, payload, content_type=JSON)
            return
        self.sender.notify()

    def send_event(self, message: EventMessage) -> None:
        """An event's start or end; a ring's start goes out on the `ring` topic as well."""
        self._enqueue(self.topics.event, message)
        if message.type == "ring" and message.state == "start":
            self._enqueue(self.topics.ring, message)

    def _publish(
        self,
        topic: str,
        payload: bytes | str,
        retain: bool = False,
        content_type: str | None = None,
        expiry: int | None = None,
        hold: bool = True,
    ) -> None:
        """`hold`: kept while not connected and sent after connecting (else dropped then)."""
        if self.link is not None:
            self.link.publish(
                topic,
                payload,
                qos=1,
                retain=retain,
                content_type=content_type,
                expiry=expiry,
                hold=hold,
            )

    def _retain(self, topic: str, payload: bytes | str, content_type: str | None = None) -> None:
        with self._retained_lock:
            self._retained[topic] = (payload, content_type)
        # not held: every retained state is published again on connect (_on_connected)
        self._publish(topic, payload, retain=True, content_type=content_type, hold=False)

    def set_motion(self, on: bool) -> None:
        self._retain(self.topics.motion, "ON" if on else "OFF")

    def set_motion_label(self, label: str, on: bool) -> None:
        self._retain(self.topics.motion_label(label), "ON" if on else "OFF")

    def send_snapshot(self, jpeg: bytes, picture: Picture | None = None) -> None:
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
            self._retain(self.topics.snapshot, self._e2e.encrypt(fitted), "application/age")
            return
        self._retain(self.topics.snapshot, fitted, "image/jpeg")

    def send_result(self, name: str, payload: bytes) -> None:
        """A command's result published later (footage requests decided or shared afterwards)."""
        self._publish(self.topics.command_result(name), payload, content_type=JSON)

    def send_telemetry(self, values: dict[str, Any]) -> None:
        expiry = int(self.config.uplink.telemetry_seconds * 2)
        self._publish(
            self.topics.telemetry,
            json.dumps(values, default=str),
            content_type=JSON,
            expiry=expiry,
            hold=False,  # the next one says it better
        )

    def publish_health(self, recording: str, failure: str | None) -> None:
        """Whether clips can be written (`ok`, `off`, `disk_full`) and why not, retained: a full
        card is said where the owner looks, and stays said while it lasts."""
        health = {"recording": recording, "recording_failed": failure}
        self._retain(self.topics.health, json.dumps(health, sort_keys=True), JSON)

    def publish_mode(self, mode: str) -> None:
        self._retain(self.topics.mode, mode)

    def publish_motion_settings(self, settings: dict[str, Any]) -> None:
        """What `cmd/motion` can change, as it is now: a change shows, whoever made it."""
        self._retain(self.topics.motion_settings, json.dumps(settings, sort_keys=True), JSON)

    def publish_audit_head(self, head: AuditHead) -> None:
        """The audit log's newest entry (seq, hash, prev): a copy off the device, so a cut tail
        is detected, and a rewind shows to a subscriber as a seq going back."""
        self._retain(self.topics.audit_head, json.dumps(head.to_json()), JSON)

    def publish_audit_alert(self, entry: dict[str, Any]) -> None:
        """The audit log was found cut or rewound (its tamper entry); retained until the next."""
        alert = {"seq": entry["seq"], "at": entry["at"], "hash": entry["hash"], **entry["data"]}
        self._retain(self.topics.audit_alert, json.dumps(alert), JSON)

    def publish_discovery(self) -> None:
        if not self.config.uplink.homeassistant:
            return
        topic, payload = discovery_message(
            self.config.uplink.discovery_prefix,
            self.config.device.id,
            self.topics,
            self.config.uplink.commands.unsigned,
        )
        self._publish(topic, payload, retain=True, content_type=JSON)

    def stop(self, timeout: float = 5.0) -> None:
        if self.connected:
            self.sender.wait_idle(timeout / 2)  # what is not acknowledged stays in the outbox
        self.sender.stop(timeout)
        self.intake.close()
        if self._worker.is_alive():
            self._worker.join(timeout)
        if self.link is not None:
            self.link.stop(timeout)
        # the outbox stays open: stats still answer, and an alert raised after stop is kept on
        # disk for the next start

    # -- paho's network thread: hand over, never wait ------------------------------------------
    def _on_connected(self) -> None:
        self.publish_discovery()
        with self._retained_lock:
            retained = list(self._retained.items())
        for topic, (payload, content_type) in retained:
            self._publish(topic, payload, retain=True, content_type=content_type)
        self.sender.on_connected()

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if topic == self._ha_status:
            if payload.strip().lower() == b"online":
                self.publish_discovery()
            return
        prefix = self.topics.command("")
        if not topic.startswith(prefix):
            return
        # Before anything is parsed or written: junk costs a counter (uplink.command_intake).
        self.intake.offer(topic[len(prefix) :], payload, retained)

    # -- the command worker ---------------------------------------------------------------------
    def _run_commands(self) -> None:
        while True:
            item = self.intake.take()
            if item is None:
                return
            try:
                self._answer(item)
            except OSError as exc:  # a full disk: what must be recorded first (a nonce) was not
                log.error("command %r refused: %s", item.name[:64], exc)
                if not item.retained:
                    reply = CommandReply.failure(f"not taken: {exc.strerror or exc}")
                    self._publish(
                        self.topics.command_result(item.name), reply.payload(), content_type=JSON
                    )
            except Exception:  # one bad command must not end command handling
                log.exception("command %r failed", item.name)

    def _answer(self, item: Incoming) -> None:
        name, retained, counts = item.name, item.retained, self.intake.counts
        reply: CommandReply | None

        def authorise(name: str, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
            return self.gate.authorise(name, body, retained)

        try:
            command = parse_command(
                name, item.payload, self.config.uplink.max_command_bytes, authorise
            )
        except CommandError as exc:
            if exc.request_id is None:  # nobody to answer: not worth a log line either
                counts.unanswered += 1
                return
            if item.owner and not self.intake.within_budget(name):
                return  # signed by the owner, refused (a replay?): answered within the budget
            log.warning("command %r refused: %s", name, exc)
            reply = CommandReply.failure(str(exc), exc.request_id)
        else:
            ran, earlier = self.answered.earlier(command)
            if ran:  # a copy the owner sent again: answered again, not run again
                if earlier is not None and not retained:
                    self._publish(
                        self.topics.command_result(name), earlier.payload(), content_type=JSON
                    )
                return
            if item.owner and not self.intake.owner_may_run(name):
                return
            reply = answer(self.dispatch, command)
            self.answered.ran(command, reply)
            if reply is not None and not reply.ok:
                log.info("command %r answered with an error: %s", name, reply.error)
        if reply is None:  # the device publishes the answer later (send_result)
            return
        if retained:  # answering would only repeat the refusal at every reconnect
            return
        self._publish(self.topics.command_result(name), reply.payload(), content_type=JSON)
