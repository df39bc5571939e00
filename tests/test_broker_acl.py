"""The shipped mosquitto ACL (config/mosquitto/doorbell.acl) on a real mosquitto: strangers are
refused by the broker before the device's own signature check is even needed."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from tests.support.broker import MosquittoBroker, find_mosquitto

ACL = Path(__file__).resolve().parents[1] / "config" / "mosquitto" / "doorbell.acl"
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
    broker = MosquittoBroker(
        tmp_path / "broker",
        anonymous=False,
        extra_config=f"password_file {passwd}\nacl_file {ACL}\n",
    )
    broker.start()
    yield broker
    broker.stop()


class Client:
    """A paho client that waits for what it asked: CONNACK, SUBACK, PUBACK, messages."""

    def __init__(self, port: int, user: str | None) -> None:
        self.cond = threading.Condition()
        self.connack: Any = None
        self.subscribed = False
        self.pubacks: dict[int, Any] = {}
        self.messages: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
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
        self.client.loop_stop()
        self.client.disconnect()


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
