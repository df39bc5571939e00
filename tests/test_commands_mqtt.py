"""Commands: the parser (property-tested with hypothesis) and round trips over real mosquitto."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from doorbell.config.motion import MotionConfig
from doorbell.device.runtime.command_registry import CommandRegistry
from doorbell.uplink.command_models import (
    COMMANDS,
    MAX_COMMAND_BYTES,
    ClipDeleteCommand,
    ClipKeepCommand,
    CommandError,
    CommandReply,
    FootageReviewCommand,
    ModeCommand,
    MotionCommand,
    PingCommand,
    PolygonsCommand,
    PressCommand,
    SnapshotCommand,
    StatusCommand,
    parse_command,
)
from doorbell.uplink.requests.command_models import (
    FootageDecisionBody,
    FootageRequestBody,
    SignedBody,
)
from doorbell.uplink.uplink import Uplink
from tests.support.broker import MosquittoBroker
from tests.support.uplink_helpers import SessionSubscriber, uplink_config

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(COMMANDS) + ["reboot", "", "x" * 80]), payload=st.binary())
def test_parser_never_raises_anything_but_command_error_on_bytes(name: str, payload: bytes) -> None:
    try:
        parsed = parse_command(name, payload)
    except CommandError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert parsed.name == name


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(["mode", "snapshot", "motion", "ping"]), body=json_values)
def test_parser_accepts_exactly_what_the_model_accepts(name: str, body: Any) -> None:
    payload = json.dumps(body).encode()
    try:
        parsed = parse_command(name, payload)
    except CommandError:
        if isinstance(body, dict):
            with pytest.raises(ValidationError):
                COMMANDS[name].model_validate(body)
    else:
        assert isinstance(body, dict)
        assert parsed.body == COMMANDS[name].model_validate(body)
        assert parsed.request_id == body["request_id"]


@given(threshold=st.integers(-1000, 1000), min_frames=st.integers(-10, 200))
def test_motion_bounds_are_the_config_bounds(threshold: int, min_frames: int) -> None:
    body = {"request_id": "r", "threshold": threshold, "min_frames": min_frames}
    ok = 1 <= threshold <= 255 and 1 <= min_frames <= 100
    try:
        parsed = parse_command("motion", json.dumps(body).encode())
    except CommandError:
        assert not ok
    else:
        assert ok and isinstance(parsed.body, MotionCommand)


def test_specific_refusals() -> None:
    with pytest.raises(CommandError, match="too large"):
        parse_command("ping", b'{"request_id": "r", "x": "' + b"a" * MAX_COMMAND_BYTES + b'"}')
    with pytest.raises(CommandError, match="unknown command 'reboot'") as info:
        parse_command("reboot", b'{"request_id": "r9"}')
    assert info.value.request_id == "r9"
    with pytest.raises(CommandError, match="mode"):
        parse_command("mode", b'{"request_id": "r", "mode": "party"}')
    with pytest.raises(CommandError, match="threshold"):  # strict: a boolean is not a number
        parse_command("motion", b'{"request_id": "r", "threshold": true}')
    with pytest.raises(CommandError, match="min_frames"):
        parse_command("motion", b'{"request_id": "r", "min_frames": "3"}')
    with pytest.raises(CommandError, match="blur"):
        parse_command("motion", b'{"request_id": "r", "blur": 7}')  # not whitelisted
    assert isinstance(parse_command("mode", b'{"request_id":"r","mode":"away"}').body, ModeCommand)
    signed = parse_command("footage_request", b'{"request_id": "f1", "t": "2026-11-28T18:00:00Z"}')
    assert signed.body.model_dump() == {"request_id": "f1", "t": "2026-11-28T18:00:00Z"}


class Device:
    """Stands for the device's handlers behind the real registry: records what reached them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.thread_names: list[str] = []

    def handler(self, name: str, reply: CommandReply | None) -> Any:
        def handle(body: Any) -> CommandReply:
            self.calls.append((name, body))
            self.thread_names.append(threading.current_thread().name)
            if reply is None:
                raise RuntimeError("boom")
            return reply.model_copy(update={"mode": body.mode}) if name == "mode" else reply

        return handle

    def registry(self) -> CommandRegistry:
        ok = CommandReply.success()
        return CommandRegistry(
            {
                ModeCommand: self.handler("mode", ok),
                SnapshotCommand: self.handler("snapshot", CommandReply.failure("no frame yet")),
                MotionCommand: self.handler("motion", ok),
                PingCommand: self.handler("ping", ok),
                PressCommand: self.handler("press", ok),
                StatusCommand: self.handler("status", ok),
                FootageRequestBody: self.handler("footage_request", ok),
                FootageDecisionBody: self.handler("footage_decision", None),
                ClipKeepCommand: self.handler("clip_keep", ok),
                ClipDeleteCommand: self.handler("clip_delete", ok),
                PolygonsCommand: self.handler("polygons", ok),
                FootageReviewCommand: self.handler("footage_review", ok),
            }
        )


WARM = b'{"request_id": "warm"}'


def answers(sub: SessionSubscriber) -> list[tuple[str, dict[str, Any]]]:
    """The results received so far, without those of the warm-up pings."""
    decoded = [(topic, json.loads(payload)) for topic, payload in list(sub.payloads)]
    return [(topic, data) for topic, data in decoded if data.get("request_id") != "warm"]


def test_commands_round_trip_and_bad_ones_change_nothing(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    device = Device()
    registry = device.registry()
    # Unsigned on purpose: this is about parsing and the registry; signatures have their own tests.
    config = uplink_config(
        mosquitto.port, tmp_path, commands={"unsigned": ["mode", "snapshot", "motion", "ping"]}
    )
    uplink = Uplink(config, tmp_path, registry.dispatch)
    sub = SessionSubscriber(mosquitto.port, ["doorbell/porch/cmd/+/result"], "commander")
    uplink.start()
    try:
        # The uplink subscribes right after CONNACK: ping until a ping is answered.
        deadline = time.monotonic() + 10
        while not sub.payloads and time.monotonic() < deadline:
            sub.client.publish("doorbell/porch/cmd/ping", WARM, qos=1)
            sub.wait_for_messages(1, 0.2)
        sends = [
            ("mode", b'{"request_id": "m1", "mode": "home"}'),
            ("snapshot", b'{"request_id": "s1"}'),
            ("motion", b'{"request_id": "mo1", "threshold": 30, "event_gap": 9.5}'),
            ("ping", b'{"request_id": "p1"}'),
            ("mode", b'{"request_id": "m2", "mode": "party"}'),
            ("motion", b'{"request_id": "mo2", "threshold": 999}'),
            ("footage_decision", b'{"request_id": "fd1"}'),
        ]
        # Junk: nobody to answer (no request_id, a name that is no command, over the size).
        junk = [
            ("mode", b"not json"),
            ("mode", b'["request_id", "j1"]'),
            ("reboot", b'{"request_id": "x1"}'),
            ("ping", b"[" * 20_000),
        ]
        last = [("ping", b'{"request_id": "p2"}')]  # answered in order, after the junk
        for name, body in sends + junk + last:
            sub.client.publish(f"doorbell/porch/cmd/{name}", body, qos=1)
        sends += last
        deadline = time.monotonic() + 10
        while len(answers(sub)) < len(sends) and time.monotonic() < deadline:
            sub.wait_for_messages(len(sub.payloads) + 1, 0.5)
        assert len(answers(sub)) == len(sends), sub.payloads
        results = {}
        for topic, data in answers(sub):
            assert set(data) >= {"request_id", "ok", "error"}
            results[(topic.split("/")[3], data["request_id"])] = data
        assert results[("mode", "m1")] == {
            "request_id": "m1",
            "ok": True,
            "error": None,
            "mode": "home",
        }
        assert results[("snapshot", "s1")]["error"] == "no frame yet"
        assert results[("motion", "mo1")]["ok"] is True
        assert results[("ping", "p1")]["ok"] is True
        assert results[("mode", "m2")]["ok"] is False
        assert "threshold" in results[("motion", "mo2")]["error"]
        assert not any(rid is None or topic == "reboot" for topic, rid in results)
        # "reboot" never arrives: the device subscribes to the registry's names, not cmd/+
        assert uplink.stats.commands_junk == len(junk) - 1
        assert results[("footage_decision", "fd1")]["error"].startswith("failed: boom")
        assert results[("ping", "p2")]["ok"] is True  # still answering after all of that
        # only valid commands reached the device, as validated models, on the worker thread
        device.calls = [(n, b) for n, b in device.calls if getattr(b, "request_id", "") != "warm"]
        reached = [n for n, _ in device.calls]
        assert reached == ["mode", "snapshot", "motion", "ping", "footage_decision", "ping"]
        # validated, and only what was sent: merging it into the settings changes just that
        assert isinstance(device.calls[0][1], ModeCommand)
        motion = device.calls[2][1]
        assert isinstance(motion, MotionCommand) and motion.threshold == 30
        dumped = motion.model_dump()  # what the runtime merges into its motion settings
        assert dumped == {"request_id": "mo1", "threshold": 30, "event_gap": 9.5}
        changes = {k: v for k, v in dumped.items() if k != "request_id"}
        merged = MotionConfig.model_validate(MotionConfig().model_dump() | changes)
        assert merged.threshold == 30 and merged.min_frames == MotionConfig().min_frames
        assert isinstance(device.calls[4][1], SignedBody)  # footage bodies stay untouched
        assert set(device.thread_names) == {"commands"}
    finally:
        uplink.stop(2.0)
        sub.close()


def test_every_command_has_a_handler_and_the_socket_shares_the_registry() -> None:
    device = Device()
    handlers = dict(device.registry().commands)
    local = {"clip_keep", "clip_delete", "polygons", "footage_review"}  # the owner's page
    assert set(handlers) == {"press", "status", *local, *COMMANDS}
    assert not local & set(COMMANDS)  # not taken over MQTT
    partial = {model: handler for model, handler in handlers.values() if model is not PingCommand}
    with pytest.raises(ValueError, match="PingCommand"):
        CommandRegistry(partial)
    registry = device.registry()
    assert registry.control_request({"mode": "home"}) == {"ok": False, "error": "missing 'cmd'"}
    reply = registry.control_request({"cmd": "mode", "mode": "home"})
    assert reply == {"ok": True, "error": None, "mode": "home"}  # no request_id was sent
    assert registry.control_request({"cmd": "ping", "request_id": "p"})["request_id"] == "p"
    assert registry.control_request({"cmd": "motion", "threshold": 30})["ok"] is True
    assert device.calls[-1][1].model_dump(exclude={"request_id"}) == {"threshold": 30}
