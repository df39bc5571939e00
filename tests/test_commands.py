"""Remote commands: each round-trips over a real mosquitto; bad ones get an error and change
nothing; the parser never raises, whatever the bytes (hypothesis)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.publish as publish
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from tests.support.broker import MosquittoBroker
from tests.support.session_subscriber import SessionSubscriber
from tests.support.uplink_producer import config
from uplink.commands import CommandRegistry, CommandResult, MotionCommandBase
from uplink.uplink import Uplink

BASE = "doorbell/porch"


class Device:
    """Records what the uplink hands over, as the runtime would act on it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, BaseModel]] = []
        self.mode = "away"

    def __call__(self, name: str, body: BaseModel) -> CommandResult:
        self.calls.append((name, body))
        if name == "mode":
            self.mode = body.mode  # type: ignore[attr-defined]
            return CommandResult(True, None, {"mode": self.mode})
        return CommandResult(True)


@pytest.fixture
def device_uplink(mosquitto: MosquittoBroker, tmp_path: Path) -> Iterator[tuple[Uplink, Device]]:
    device = Device()
    uplink = Uplink(config(mosquitto.port, tmp_path), tmp_path, on_command=device)
    uplink.start()
    deadline = time.monotonic() + 10
    while not uplink.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # its subscription to cmd/+ is in place
    yield uplink, device
    uplink.stop(2)


def ask(mosquitto: MosquittoBroker, name: str, body: bytes | str) -> dict[str, Any]:
    topic = f"{BASE}/cmd/{name}/result"
    sub = SessionSubscriber(mosquitto.port, [topic], client_id=f"asker-{time.monotonic_ns()}")
    try:
        publish.single(f"{BASE}/cmd/{name}", body, qos=1, hostname="127.0.0.1", port=mosquitto.port)
        results = sub.on(topic)
    finally:
        sub.close()
    assert results, f"no result for {name}"
    result: dict[str, Any] = json.loads(results[0])
    return result


def test_every_command_round_trips(
    device_uplink: tuple[Uplink, Device], mosquitto: MosquittoBroker
) -> None:
    _uplink, device = device_uplink
    mode = ask(mosquitto, "mode", '{"request_id": "r1", "mode": "home"}')
    assert mode == {"request_id": "r1", "ok": True, "error": None, "mode": "home"}
    assert device.mode == "home"
    snap = ask(mosquitto, "snapshot", '{"request_id": "r2"}')
    assert snap == {"request_id": "r2", "ok": True, "error": None}
    motion = ask(mosquitto, "motion", '{"request_id": "r3", "threshold": 40}')
    assert motion["ok"] is True
    name, body = device.calls[-1]
    assert name == "motion" and isinstance(body, MotionCommandBase)
    assert body.changes() == {"threshold": 40}
    ping = ask(mosquitto, "ping", '{"request_id": "r4"}')
    assert ping["ok"] is True and ping["request_id"] == "r4"
    assert [n for n, _ in device.calls] == ["mode", "snapshot", "motion"]  # ping answered here


@pytest.mark.parametrize(
    ("name", "body", "error"),
    [
        ("mode", b'{"request_id": "x", "mode": "party"}', "mode"),
        ("mode", b"{not json", "not JSON"),
        ("mode", b"\xff\xfe", "not JSON"),
        ("mode", b"[1, 2]", "JSON object"),
        ("motion", b'{"request_id": "x", "threshold": 9999}', "threshold"),
        ("motion", b'{"request_id": "x", "learning_rate": 0.5}', "learning_rate"),
        ("motion", b'{"request_id": "x"}', "nothing to change"),
        ("reboot", b'{"request_id": "x"}', "unknown command"),
        ("ping", b'{"request_id": "x", "pad": "' + b"a" * 70_000 + b'"}', "too large"),
    ],
)
def test_bad_commands_get_an_error_and_change_nothing(
    device_uplink: tuple[Uplink, Device],
    mosquitto: MosquittoBroker,
    name: str,
    body: bytes,
    error: str,
) -> None:
    uplink, device = device_uplink
    result = ask(mosquitto, name, body)
    assert result["ok"] is False
    assert error in result["error"]
    assert device.calls == [] and device.mode == "away"
    assert uplink.stats.commands_refused == 1
    # and the device keeps answering
    assert ask(mosquitto, "ping", '{"request_id": "after"}')["ok"] is True


def test_registry_takes_new_commands() -> None:
    class Footage(BaseModel):
        request_id: str

    registry = CommandRegistry(1024)
    assert registry.parse("footage_request", b'{"request_id": "a"}').error
    registry.register("footage_request", Footage)
    parsed = registry.parse("footage_request", b'{"request_id": "a"}')
    assert parsed.error is None and isinstance(parsed.body, Footage)
    with pytest.raises(ValueError):
        registry.register("a/b", Footage)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["request_id", "mode", "threshold", "min_area", "min_frames", "event_gap", "blur"]
)


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(["mode", "snapshot", "motion", "ping", "nope", ""]),
    body=st.dictionaries(FIELDS, JSON, max_size=5).map(lambda d: json.dumps(d).encode())
    | st.binary(max_size=200),
)
def test_parser_never_raises_and_accepts_only_valid_bodies(name: str, body: bytes) -> None:
    parsed = CommandRegistry(1024).parse(name, body)
    assert (parsed.body is None) != (parsed.error is None)
    if parsed.body is not None:
        raw = json.loads(body)
        assert set(raw) <= set(type(parsed.body).model_fields)  # nothing unknown slipped in
        if name == "motion":
            changes = parsed.body.changes()  # type: ignore[attr-defined]
            assert changes and all(raw[k] == v for k, v in changes.items())
    else:
        assert parsed.error and "\n" not in parsed.error


@settings(max_examples=100, deadline=None)
@given(threshold=st.integers(-1000, 1000))
def test_motion_bounds_are_the_config_bounds(threshold: int) -> None:
    parsed = CommandRegistry(1024).parse("motion", json.dumps({"threshold": threshold}).encode())
    assert (parsed.error is None) == (1 <= threshold <= 255)
