"""Remote commands: each round-trips over a real mosquitto; bad ones get an error and change
nothing; the parser never raises, whatever the bytes (hypothesis)."""

from __future__ import annotations

import json
import threading
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
from tests.support.uplink_producer import config, event
from uplink.commands import COMMANDS, CommandError, MotionCommand, parse_command
from uplink.uplink import Uplink

BASE = "doorbell/porch"


class Device:
    """Records what the uplink hands over, as the runtime would act on it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, BaseModel]] = []
        self.mode = "away"

    def __call__(self, name: str, body: BaseModel) -> dict[str, Any]:
        self.calls.append((name, body))
        if name == "mode":
            self.mode = body.mode  # type: ignore[attr-defined]
            return {"ok": True, "error": None, "mode": self.mode}
        return {"ok": True, "error": None}


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
    assert name == "motion" and isinstance(body, MotionCommand)
    assert body.model_dump(exclude_none=True) == {"request_id": "r3", "threshold": 40}
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
    _uplink, device = device_uplink
    result = ask(mosquitto, name, body)
    assert result["ok"] is False
    assert error in result["error"]
    assert device.calls == [] and device.mode == "away"
    # and the device keeps answering
    assert ask(mosquitto, "ping", '{"request_id": "after"}')["ok"] is True


def test_registry_takes_new_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    class Footage(BaseModel):
        request_id: str

    with pytest.raises(CommandError, match="unknown"):
        parse_command("footage_check", b'{"request_id": "a"}')
    monkeypatch.setitem(COMMANDS, "footage_check", Footage)
    parsed = parse_command("footage_check", b'{"request_id": "a"}')
    assert isinstance(parsed.body, Footage) and parsed.request_id == "a"


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
def test_parser_refuses_with_one_line_or_accepts_only_valid_bodies(name: str, body: bytes) -> None:
    try:
        parsed = parse_command(name, body)
    except CommandError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    raw = json.loads(body)
    assert set(raw) <= set(type(parsed.body).model_fields)  # nothing unknown slipped in
    for key, value in parsed.body.model_dump(exclude_none=True).items():
        assert raw[key] == value


@settings(max_examples=100, deadline=None)
@given(threshold=st.integers(-1000, 1000))
def test_motion_bounds_are_the_config_bounds(threshold: int) -> None:
    body = json.dumps({"request_id": "b", "threshold": threshold}).encode()
    try:
        parse_command("motion", body)
        accepted = True
    except CommandError:
        accepted = False
    assert accepted == (1 <= threshold <= 255)


def test_a_slow_command_does_not_hold_up_alerts(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    """Commands run off paho's network thread: PUBACKs keep arriving while one takes its time."""
    started = threading.Event()

    def slow(name: str, body: BaseModel) -> dict[str, Any]:
        started.set()
        time.sleep(2.0)
        return {"ok": True, "error": None}

    uplink = Uplink(config(mosquitto.port, tmp_path), tmp_path, on_command=slow)
    uplink.start()
    try:
        deadline = time.monotonic() + 10
        while not uplink.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        publish.single(f"{BASE}/cmd/snapshot", '{"request_id": "s"}', qos=1,
                       hostname="127.0.0.1", port=mosquitto.port)  # fmt: skip
        assert started.wait(5)
        began = time.monotonic()
        uplink.send_event(event("during-command"))
        while uplink.stats.backlog and time.monotonic() - began < 1.5:
            time.sleep(0.01)
        assert uplink.stats.backlog == 0, "the alert waited for the command"
        assert time.monotonic() - began < 1.5
    finally:
        uplink.stop(5)
