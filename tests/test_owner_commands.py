"""Only the owner commands a running device over MQTT (docs/security.md): a real `doorbell run`,
a real mosquitto, the real `doorbell owner send`, and a stranger publishing what it likes."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from doorbell.device.system.memory import status_mb
from doorbell.uplink.command_auth import signed_command
from doorbell.uplink.requests.audit import AuditLog
from tests.support.broker import MosquittoBroker
from tests.support.process import DoorbellProcess, doorbell
from tests.support.subscriber import Subscriber

BASE = "doorbell/own"


@pytest.fixture
def owner_key(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "owner.pem"
    made = doorbell("owner", "new-key", str(path))
    assert made.returncode == 0, made.stderr
    return path, made.stdout.strip()


@pytest.fixture
def device(
    mosquitto: MosquittoBroker, tmp_path: Path, owner_key: tuple[Path, str]
) -> Iterator[DoorbellProcess]:
    dev = DoorbellProcess(
        tmp_path / "p",
        "--broker",
        mosquitto.url,
        "--device-id",
        "own",
        "--data-dir",
        str(tmp_path / "data"),
        "--camera",
        "synthetic",
        "--speed",
        "1",
        "--loop",
        "--set",
        f"uplink.commands.owner_keys=[{owner_key[1]}]",
        "--set",
        "uplink.commands.unsigned=[ping]",
    )
    yield dev
    dev.signal(signal.SIGTERM)
    dev.wait()
    dev.kill()


def results(ms: list[Any]) -> list[Any]:
    return [m for m in ms if m.topic.endswith("/result")]


def answers(ms: list[Any], request_id: str) -> list[dict[str, Any]]:
    decoded = [json.loads(m.payload) for m in results(ms)]
    return [d for d in decoded if d.get("request_id") == request_id]


class Stranger:
    """Anyone on the broker: publishes on the device's command topics, reads the answers."""

    def __init__(self, port: int) -> None:
        self.sub = Subscriber(port, [f"{BASE}/cmd/+/result", f"{BASE}/mode"])

    def send(self, name: str, body: dict[str, Any], retain: bool = False) -> None:
        self.sub.client.publish(f"{BASE}/cmd/{name}", json.dumps(body), qos=1, retain=retain)

    def answer(self, request_id: str, timeout: float = 20) -> dict[str, Any]:
        def found(ms: list[Any]) -> bool:
            return any(json.loads(m.payload).get("request_id") == request_id for m in results(ms))

        assert self.sub.wait_for(found, timeout), f"no answer to {request_id}"
        for m in results(self.sub.messages):
            data: dict[str, Any] = json.loads(m.payload)
            if data.get("request_id") == request_id:
                return data
        raise AssertionError(request_id)

    def modes(self) -> list[bytes]:
        return [m.payload for m in self.sub.on(f"{BASE}/mode")]


def ready(stranger: Stranger) -> None:
    """The device answers commands (ping is allowed unsigned in this config)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stranger.send("ping", {"request_id": "warm"})
        if stranger.sub.wait_for(lambda ms: bool(results(ms)), timeout=0.5):
            return
    raise AssertionError("the device never answered")


def test_only_signed_commands_change_the_device(
    mosquitto: MosquittoBroker,
    device: DoorbellProcess,
    owner_key: tuple[Path, str],
    tmp_path: Path,
) -> None:
    stranger = Stranger(mosquitto.port)
    ready(stranger)

    # Unsigned: refused, whatever it asks; the device stays armed and unblinded.
    stranger.send("mode", {"request_id": "a1", "mode": "disarmed"})
    stranger.send("motion", {"request_id": "a2", "min_area": 100, "min_frames": 100})
    stranger.send("snapshot", {"request_id": "a3"})
    for rid in ("a1", "a2", "a3"):
        reply = stranger.answer(rid)
        assert reply["ok"] is False and "unsigned" in reply["error"], reply

    # Signed by a key that is not the owner's: refused.
    stranger_key = Ed25519PrivateKey.generate()
    forged = signed_command(
        "mode", {"request_id": "f1", "mode": "disarmed"}, "own", stranger_key, time.time()
    )
    stranger.send("mode", forged)
    assert "signature" in stranger.answer("f1")["error"]

    # The owner, through the CLI: accepted, published retained, audited with the key.
    sent = doorbell(
        "owner",
        "send",
        "mode",
        "mode=home",
        "--key",
        str(owner_key[0]),
        "--broker",
        mosquitto.url,
        "--device-id",
        "own",
        "--timeout",
        "20",
    )
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["mode"] == "home"
    assert stranger.sub.wait_for(lambda ms: any(m.payload == b"home" for m in ms), timeout=10)

    # A captured signed command, replayed: refused.
    key = _load(owner_key[0])
    body = signed_command("mode", {"request_id": "o1", "mode": "away"}, "own", key, time.time())
    stranger.send("mode", body)
    assert stranger.answer("o1")["ok"] is True
    stranger.send("mode", {**body})
    stranger.sub.wait_for(lambda ms: len(answers(ms, "o1")) >= 2, timeout=20)
    again = answers(stranger.sub.messages, "o1")
    assert again[1]["ok"] is False and "replayed" in again[1]["error"]

    # Signed for another command: an owner's ping published on cmd/snapshot takes no snapshot
    # (refused by the gate: tests/test_command_auth.py).
    ping = signed_command("ping", {"request_id": "p1"}, "own", key, time.time())
    stranger.send("snapshot", ping)
    stranger.send("ping", {"request_id": "after-p1"})  # handled after it (the owner's lane first)
    assert stranger.answer("after-p1")["ok"] is True
    assert not answers(stranger.sub.messages, "p1")  # dropped as junk, unanswered

    # Signed for another device: refused.
    other = signed_command(
        "mode", {"request_id": "g1", "mode": "disarmed"}, "garage", key, time.time()
    )
    stranger.send("mode", other)
    assert "another device" in stranger.answer("g1")["error"]

    # A retained command, even signed, is never taken: the device answers the ping sent after
    # it (in order on one connection) while the mode stays as it was.
    retained = signed_command(
        "mode", {"request_id": "r1", "mode": "disarmed"}, "own", key, time.time()
    )
    stranger.send("mode", retained, retain=True)
    stranger.send("ping", {"request_id": "after"})
    assert stranger.answer("after")["ok"] is True
    assert not answers(stranger.sub.messages, "r1")
    assert stranger.modes()[-1] == b"away"
    stranger.sub.client.publish(f"{BASE}/cmd/mode", b"", qos=1, retain=True)  # clear it

    audit = [e for e in AuditLog.in_dir(tmp_path / "data").entries() if e["kind"] == "command"]
    assert [e["data"]["fields"]["mode"] for e in audit] == ["home", "away"]
    assert all(e["data"]["by"].startswith("owner-key:") for e in audit)
    stranger.sub.close()


def _load(path: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def test_huge_payloads_never_reach_the_device(
    mosquitto: MosquittoBroker, device: DoorbellProcess
) -> None:
    """Two 150 MB publishes on its command topics: the broker keeps them from the device (MQTT 5
    Maximum Packet Size), which stays far under the unit's MemoryMax=300M and answers on."""
    stranger = Stranger(mosquitto.port)
    ready(stranger)
    huge = b"x" * (150 * 1024 * 1024)
    for name in ("footage_request", "mode"):
        info = stranger.sub.client.publish(f"{BASE}/cmd/{name}", huge, qos=1)
        info.wait_for_publish(60)
    del huge
    stranger.send("ping", {"request_id": "still-here"})
    assert stranger.answer("still-here", timeout=60)["ok"] is True
    assert device.proc.poll() is None
    assert status_mb("VmHWM", device.proc.pid) < 300
    stranger.sub.close()


def test_owner_send_sends_fresh_copies_until_answered(
    mosquitto: MosquittoBroker, owner_key: tuple[Path, str]
) -> None:
    """No device listens: every copy goes unanswered, so all --tries are sent, each signed
    afresh (a new nonce) under one request_id, and the command fails in one line."""
    watcher = Subscriber(mosquitto.port, [f"{BASE}/cmd/ping"])
    try:
        sent = doorbell(
            "owner",
            "send",
            "ping",
            "--key",
            str(owner_key[0]),
            "--broker",
            mosquitto.url,
            "--device-id",
            "own",
            "--tries",
            "3",
            "--timeout",
            "1.5",
        )
        assert sent.returncode == 1
        assert sent.stderr.strip() == "doorbell: no answer from own in 1.5 s (3 sent)"
        assert watcher.wait_for(lambda ms: len(ms) >= 3, timeout=5)
        copies = [json.loads(m.payload) for m in watcher.messages]
        assert len(copies) == 3
        assert len({c["request_id"] for c in copies}) == 1
        assert len({c["nonce"] for c in copies}) == 3
    finally:
        watcher.close()
