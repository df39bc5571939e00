"""The embedded broker (amqtt, no Maximum Packet Size of its own) reads nothing larger than
`uplink.max_incoming_bytes`: a client's oversized packet closes its connection before the body
is read, so a retained 150 MB message never sits in the device's memory (uplink/packet_limit.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from doorbell.uplink.embedded_broker import EmbeddedBroker
from tests.support.broker import free_port

LIMIT = 64 * 1024


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    embedded = EmbeddedBroker("127.0.0.1", free_port(), None, max_packet_bytes=LIMIT)
    embedded.start()
    yield embedded
    embedded.stop()


class Client:
    def __init__(self, port: int) -> None:
        self.cond = threading.Condition()
        self.connected = self.disconnected = False
        self.subacks = 0
        self.messages: list[tuple[str, int]] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)  # 3.1.1, as amqtt speaks
        self.client.on_connect = lambda c, u, f, r, p: self._set("connected")
        self.client.on_disconnect = lambda c, u, f, r, p: self._set("disconnected")
        self.client.on_subscribe = lambda c, u, m, r, p: self._suback()
        self.client.on_message = lambda c, u, msg: self._message(msg.topic, len(msg.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.wait(lambda: self.connected)

    def _set(self, name: str) -> None:
        with self.cond:
            setattr(self, name, True)
            self.cond.notify_all()

    def _suback(self) -> None:
        with self.cond:
            self.subacks += 1
            self.cond.notify_all()

    def _message(self, topic: str, size: int) -> None:
        with self.cond:
            self.messages.append((topic, size))
            self.cond.notify_all()

    def wait(self, predicate: Any, timeout: float = 20.0) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), "timed out"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_an_oversized_packet_closes_its_connection_unread(broker: EmbeddedBroker) -> None:
    big = Client(broker.port)
    big.client.reconnect_delay_set(60, 60)  # one try: what it sent is what is tested
    big.client.publish("doorbell/emb/cmd/mode", b"x" * (LIMIT * 4), qos=0, retain=True)
    big.wait(lambda: big.disconnected)
    assert broker.front is not None and broker.front.refused == 1
    big.close()

    small = Client(broker.port)  # the broker runs on, and takes what fits
    small.client.publish("doorbell/emb/state", b"y" * 1000, qos=1, retain=True).wait_for_publish(20)
    reader = Client(broker.port)
    reader.client.subscribe("doorbell/emb/cmd/mode", qos=1)
    reader.wait(lambda: reader.subacks == 1)
    reader.client.subscribe("doorbell/emb/state", qos=1)
    reader.wait(lambda: ("doorbell/emb/state", 1000) in reader.messages)
    # Retained messages come with their SUBACK, in order: the big one would have come first.
    assert reader.messages == [("doorbell/emb/state", 1000)]
    for client in (small, reader):
        client.close()
