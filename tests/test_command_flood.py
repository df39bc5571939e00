"""Junk costs nothing: made-up names, floods on a real command's topic and bodies that borrow the
owner's key id are dropped before they cost a bucket, a log line or a reply, and the owner's
signed command still gets through (uplink/command_intake.py)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from doorbell.config.uplink import CommandsConfig
from doorbell.uplink.answered_commands import AnsweredCommands
from doorbell.uplink.command_auth import CommandGate, signed_command
from doorbell.uplink.command_intake import CommandIntake
from doorbell.uplink.command_models import (
    COMMANDS,
    MAX_COMMAND_BYTES,
    CommandReply,
    ParsedCommand,
    PingCommand,
)
from doorbell.uplink.rate_limit import RateLimit
from doorbell.uplink.replay_guard import ReplayGuard
from doorbell.uplink.requests.signing import key_id_of, public_key_b64
from doorbell.uplink.uplink import Uplink
from tests.support.broker import MosquittoBroker
from tests.support.uplink_helpers import SessionSubscriber, uplink_config
from tests.test_commands_mqtt import Device

NOW = 1_790_000_000.0


def intake(
    owner: Ed25519PrivateKey | None = None, data: Path | None = None, **config: int
) -> CommandIntake:
    keys = [public_key_b64(owner)] if owner else []
    cfg = CommandsConfig.model_validate({"owner_keys": keys, **config})
    if data is None:
        return CommandIntake(COMMANDS, cfg, [], MAX_COMMAND_BYTES, lambda: NOW)
    gate = CommandGate("porch", cfg, ReplayGuard(data / "replay.sqlite"), lambda: NOW)
    return CommandIntake(
        COMMANDS, cfg, gate.owner_key_ids, MAX_COMMAND_BYTES, lambda: NOW, gate.signed_by_owner
    )


def drain(box: CommandIntake) -> list[tuple[str, bool]]:
    taken = []
    while len(box):
        item = box.take()
        assert item is not None
        taken.append((item.name, item.owner))
    return taken


def test_made_up_names_get_no_bucket_and_no_place_in_the_queue() -> None:
    box = intake()
    for n in range(10_000):
        box.offer(f"x{n:09d}", b'{"request_id": "j"}', False)
    assert box.counts.unknown == 10_000
    assert len(box.per_topic) == 0 and len(box.total) == 0  # not even the total budget is used
    assert drain(box) == []


def test_bucket_table_is_bounded() -> None:
    limit = RateLimit(per_minute=5, clock=lambda: NOW, max_names=2)
    assert limit.allow("a") and limit.allow("b")
    assert not limit.allow("c") and len(limit) == 2 and limit.dropped == 1


def test_one_budget_for_all_topics_together() -> None:
    box = intake(per_minute=30, total_per_minute=5)
    for name in ("mode", "snapshot", "motion", "ping") * 3:
        box.offer(name, b'{"request_id": "r"}', False)
    assert len(drain(box)) == 5 and box.counts.over_budget == 7


def test_oversized_bodies_are_dropped_before_a_budget() -> None:
    box = intake()
    box.offer("mode", b" " * (MAX_COMMAND_BYTES + 1), False)
    assert (box.counts.too_large, len(box.per_topic)) == (1, 0)


def test_the_owners_signed_command_is_not_starved_by_junk_on_its_topic(tmp_path: Path) -> None:
    owner = Ed25519PrivateKey.generate()
    box = intake(owner, tmp_path, per_minute=30)
    for _ in range(1000):
        box.offer("mode", b'{"request_id": "junk", "mode": "disarmed"}', False)
    signed = signed_command("mode", {"request_id": "o1", "mode": "home"}, "porch", owner, NOW)
    box.offer("mode", json.dumps(signed).encode(), False)
    assert box.counts.over_budget == 1000 - 30
    first = box.take()
    assert first is not None and first.owner and b'"o1"' in first.payload  # served first


class Commander:
    """A real Uplink on a real mosquitto, and a client that publishes junk and reads results."""

    def __init__(self, port: int, data_dir: Path, owner: Ed25519PrivateKey) -> None:
        self.device = Device()
        commands = {"owner_keys": [public_key_b64(owner)], "unsigned": ["ping"], "per_minute": 10}
        config = uplink_config(port, data_dir, commands=commands)
        self.uplink = Uplink(config, data_dir, self.device.registry().dispatch)
        self.sub = SessionSubscriber(port, ["doorbell/porch/cmd/+/result"], "flooder")
        self.uplink.start()
        deadline = time.monotonic() + 10  # subscribed once a ping is answered
        while self.result("warm") is None:
            assert time.monotonic() < deadline, "the uplink never answered"
            self.publish("ping", b'{"request_id": "warm"}', qos=1)
            self.sub.wait_for_messages(len(self.sub.payloads) + 1, 0.2)

    def publish(self, name: str, body: bytes, qos: int = 0) -> None:
        self.sub.client.publish(f"doorbell/porch/cmd/{name}", body, qos=qos)

    def result(self, rid: str) -> dict[str, object] | None:
        for _, payload in list(self.sub.payloads):
            data = json.loads(payload)
            if data.get("request_id") == rid:
                return dict(data)
        return None

    def wait_for(self, rid: str, timeout: float = 20) -> dict[str, object] | None:
        deadline = time.monotonic() + timeout
        while self.result(rid) is None and time.monotonic() < deadline:
            self.sub.wait_for_messages(len(self.sub.payloads) + 1, 0.5)
        return self.result(rid)

    def close(self) -> None:
        self.uplink.stop(2.0)
        self.sub.close()


def borrowed_key_id(owner: Ed25519PrivateKey, rid: str) -> bytes:
    """Junk that names the owner's (public) key id, with a signature that is none."""
    kid = key_id_of(public_key_b64(owner))
    body = {"request_id": rid, "mode": "disarmed", "key_id": kid, "signature": "A" * 88}
    return json.dumps(body).encode()


def test_a_borrowed_owner_key_id_never_takes_the_owner_lanes_room(tmp_path: Path) -> None:
    owner = Ed25519PrivateKey.generate()
    box = intake(owner, tmp_path)
    for n in range(1000):  # checked as they arrive: none is queued
        box.offer("mode", borrowed_key_id(owner, f"b{n}"), False)
    signed = signed_command("mode", {"request_id": "o1", "mode": "home"}, "porch", owner, NOW)
    box.offer("mode", json.dumps(signed).encode(), False)
    assert (box.counts.forged, box.counts.queue_full) == (1000, 0)
    assert [(name, owner_lane) for name, owner_lane in drain(box)] == [("mode", True)]


def test_flood_over_a_real_broker(
    mosquitto: MosquittoBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Made-up names, junk on cmd/mode and bodies with a borrowed owner key id, at broker speed:
    none answered or logged one by one; the owner's signed mode and a ping after it answered."""
    owner = Ed25519PrivateKey.generate()
    caplog.set_level(logging.INFO, logger="doorbell.uplink")
    commander = Commander(mosquitto.port, tmp_path, owner)
    try:
        borrowed = borrowed_key_id(owner, "b1")
        for n in range(1000):
            commander.publish(f"x{n:09d}", b'{"request_id": "u"}')
            commander.publish("mode", b'{"request_id": "j"}')
            commander.publish("mode", borrowed)
        signed = signed_command(
            "mode", {"request_id": "o1", "mode": "home"}, "porch", owner, time.time()
        )
        commander.publish("mode", json.dumps(signed).encode(), qos=1)
        commander.publish("ping", b'{"request_id": "after"}', qos=1)
        reply = commander.wait_for("o1")
        assert reply == {"request_id": "o1", "ok": True, "error": None, "mode": "home"}
        assert commander.wait_for("after") is not None
        topics = [t for t, _ in commander.sub.payloads]
        assert not any("/x" in t for t in topics)  # made-up names: never answered
        assert commander.result("b1") is None and commander.result("u") is None
        assert len([t for t in topics if t.endswith("/mode/result")]) <= 10 + 1
        stats = commander.uplink.stats
        # The device subscribes to the registry's names only: no made-up name reached it.
        assert commander.uplink.intake.counts.unknown == 0
        assert stats.commands_junk >= 1000 and stats.commands_dropped > 0
        logged = [r.getMessage() for r in caplog.records]
        assert len(logged) < 50, logged[:5]  # drops are counted, not logged one by one
    finally:
        commander.close()


def test_a_borrowed_owner_key_id_gets_no_answer(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    owner = Ed25519PrivateKey.generate()
    commander = Commander(mosquitto.port, tmp_path, owner)
    try:
        for n in range(5):  # within every budget: silence is the rule, not a budget running out
            commander.publish("mode", borrowed_key_id(owner, f"b{n}"), qos=1)
        commander.publish("ping", b'{"request_id": "after"}', qos=1)
        assert commander.wait_for("after") is not None  # in order: the five were handled
        assert [commander.result(f"b{n}") for n in range(5)] == [None] * 5
        assert commander.uplink.stats.commands_junk == 5
    finally:
        commander.close()


def test_a_signed_command_sent_again_runs_once_and_every_copy_is_answered(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """`doorbell owner send` sends copies (a fresh nonce, the same request_id) until answered."""
    owner = Ed25519PrivateKey.generate()
    commander = Commander(mosquitto.port, tmp_path, owner)
    try:
        for _ in range(3):
            copy = signed_command(
                "mode", {"request_id": "o2", "mode": "home"}, "porch", owner, time.time()
            )
            commander.publish("mode", json.dumps(copy).encode(), qos=1)
        commander.publish("ping", b'{"request_id": "after"}', qos=1)
        assert commander.wait_for("after") is not None  # in order: the three were handled
        replies = [json.loads(p) for _, p in list(commander.sub.payloads)]
        copies = [r for r in replies if r.get("request_id") == "o2"]
        assert copies == [{"request_id": "o2", "ok": True, "error": None, "mode": "home"}] * 3
        ran = [b for n, b in commander.device.calls if n == "mode"]
        assert len(ran) == 1, ran
    finally:
        commander.close()


def test_the_memory_of_answered_commands_is_bounded_in_time_and_size() -> None:
    now = [NOW]
    memory = AnsweredCommands(keep_seconds=600, clock=lambda: now[0], max_entries=2)
    command = [
        ParsedCommand("mode", f"r{n}", PingCommand(request_id=f"r{n}"), "owner-key:k")
        for n in range(3)
    ]
    memory.ran(command[0], CommandReply.success())
    assert memory.earlier(command[0]) == (True, CommandReply.success())
    unsigned = ParsedCommand("mode", "r0", PingCommand(request_id="r0"), "unsigned")
    assert memory.earlier(unsigned) == (False, None)  # no signer: nothing to tell senders apart
    memory.ran(command[1], None)
    memory.ran(command[2], None)
    assert len(memory) == 2 and memory.earlier(command[0]) == (False, None)  # the oldest went
    now[0] += 601  # past the window in which a copy could still pass the gate
    assert memory.earlier(command[2]) == (False, None) and len(memory) == 0
