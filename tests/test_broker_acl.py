"""The shipped mosquitto lock-down (config/mosquitto/doorbell.conf and doorbell.acl) on a real
mosquitto: strangers are refused by the broker before the device's own signature check is even
needed, cannot take a device's client id, and Home Assistant reads states, not commands."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from tests.support.broker import MosquittoBroker, find_mosquitto

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "mosquitto"
ACL, CONF = SHIPPED / "doorbell.acl", SHIPPED / "doorbell.conf"
ACCOUNTS = {
    "porch": "pw-porch",
    "garage": "pw-garage",
    "owner": "pw-owner",
    "homeassistant": "pw-ha",
}


@pytest.fixture
def locked_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    passwd = tmp_path / "doorbell.passwd"
    passwd.touch()
    for user, password in ACCOUNTS.items():
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True)
    broker = MosquittoBroker(tmp_path / "broker", anonymous=False, extra_config=shipped(passwd))
    broker.start()
    yield broker
    broker.stop()


def shipped(passwd: Path) -> str:
    """The shipped listener settings, on the test's listener (no TLS) and files."""
    kept = []
    for line in CONF.read_text().splitlines():
        key = line.split(" ", 1)[0]
        if not line or line.startswith("#") or key in ("listener", "certfile", "keyfile"):
            continue
        paths = {"password_file": passwd, "acl_file": ACL}
        kept.append(f"{key} {paths[key]}" if key in paths else line)
    return "\n".join(kept) + "\n"


class Client:
    """A paho client that waits for what it asked: CONNACK, SUBACK, PUBACK, messages."""

    def __init__(self, port: int, user: str | None, client_id: str = "") -> None:
        self.cond = threading.Condition()
        self.connack: Any = None
        self.subscribed = False
        self.disconnects = 0
        self.pubacks: dict[int, Any] = {}
        self.messages: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.on_disconnect = lambda c, u, f, r, p: self._disconnected()
        if user:
            self.client.username_pw_set(user, ACCOUNTS[user])
        self.client.on_connect = lambda c, u, f, r, p: self._set("connack", r)
        self.client.on_subscribe = lambda c, u, m, r, p: self._set("subscribed", True)
        self.client.on_publish = lambda c, u, mid, r, p: self._puback(mid, r)
        self.client.on_message = lambda c, u, msg: self._message(msg.topic, bytes(msg.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.wait(lambda: self.connack is not None)

    def _set(self, name: str, value: Any) -> None:
        with self.cond:
            setattr(self, name, value)
            self.cond.notify_all()

    def _disconnected(self) -> None:
        with self.cond:
            self.disconnects += 1
            self.cond.notify_all()

    def _puback(self, mid: int, reason: Any) -> None:
        with self.cond:
            self.pubacks[mid] = reason
            self.cond.notify_all()

    def _message(self, topic: str, payload: bytes) -> None:
        with self.cond:
            self.messages.append((topic, payload))
            self.cond.notify_all()

    def wait(self, predicate: Any, timeout: float = 10.0) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), "timed out"

    def publish(self, topic: str, payload: bytes) -> Any:
        info = self.client.publish(topic, payload, qos=1)
        self.wait(lambda: info.mid in self.pubacks)
        return self.pubacks[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_only_the_owner_reaches_a_devices_commands(locked_broker: MosquittoBroker) -> None:
    port = locked_broker.port
    anonymous = Client(port, None)
    assert anonymous.connack.is_failure  # no account, no connection
    anonymous.close()

    porch = Client(port, "porch")
    porch.client.subscribe("doorbell/porch/cmd/+", qos=1)
    porch.wait(lambda: porch.subscribed)
    strangers = [Client(port, "garage"), Client(port, "homeassistant")]
    for stranger in strangers:
        reason = stranger.publish("doorbell/porch/cmd/mode", b'{"mode": "disarmed"}')
        assert reason.is_failure and "authori" in str(reason).lower(), reason
    owner = Client(port, "owner")
    assert not owner.publish("doorbell/porch/cmd/mode", b'{"mode": "home"}').is_failure
    porch.wait(lambda: len(porch.messages) >= 1)
    # The strangers' publishes were refused (PUBACK) before the owner's was sent: had either
    # been routed, the device would have it first.
    assert porch.messages == [("doorbell/porch/cmd/mode", b'{"mode": "home"}')]

    # A device writes only under its own base topic, and never another device's commands.
    garage = strangers[0]
    assert not garage.publish("doorbell/garage/event", b"{}").is_failure
    assert garage.publish("doorbell/porch/event", b"{}").is_failure
    assert garage.publish("doorbell/garage/cmd/mode", b"{}").is_failure
    for client in (porch, owner, *strangers):
        client.close()


def test_no_account_can_take_a_devices_client_id(locked_broker: MosquittoBroker) -> None:
    """Another account connecting with the device's client id must not kick the device off."""
    porch = Client(locked_broker.port, "porch", client_id="porch")
    assert not porch.connack.is_failure
    others = [user for user in ACCOUNTS if user != "porch"]
    impostors = [Client(locked_broker.port, user, client_id="porch") for user in others]
    # Had the broker taken the id over, it would have closed porch's connection before it
    # answered the impostors' CONNECTs; a round trip of porch's proves it is still the same one.
    assert not porch.publish("doorbell/porch/status", b"online").is_failure
    assert porch.disconnects == 0
    for client in (porch, *impostors):
        client.close()


def test_home_assistant_reads_states_not_commands(locked_broker: MosquittoBroker) -> None:
    port = locked_broker.port
    ha = Client(port, "homeassistant")
    ha.client.subscribe("doorbell/#", qos=1)
    ha.wait(lambda: ha.subscribed)
    owner, porch = Client(port, "owner"), Client(port, "porch")
    request = b'{"upload": {"url": "https://bucket.example/presigned?X-Amz-Signature=secret"}}'
    for command in ("footage_request", "footage_decision", "mode"):
        assert not owner.publish(f"doorbell/porch/cmd/{command}", request).is_failure
    assert not porch.publish("doorbell/porch/cmd/mode/result", b'{"ok": true}').is_failure
    assert not porch.publish("doorbell/porch/mode", b"home").is_failure
    ha.wait(lambda: ("doorbell/porch/mode", b"home") in ha.messages)
    # Delivered in the order the broker took them: a command would have arrived before the mode.
    assert ha.messages == [("doorbell/porch/mode", b"home")]
    for client in (ha, owner, porch):
        client.close()
