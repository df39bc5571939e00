"""MQTT version: `auto` connects with 5 and falls back to 3.1.1, once and said once, against a
broker that speaks only 3.1.1 (amqtt, run in-process as `--broker embedded` does); a pinned
version stays pinned."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from doorbell.config.uplink import MqttConfig
from doorbell.uplink.embedded_broker import EmbeddedBroker
from doorbell.uplink.mqtt_link import UNSUPPORTED_PROTOCOL, MqttLink
from doorbell.uplink.topics import Topics
from tests.support.broker import MosquittoBroker, free_port
from tests.support.waiting import wait_until

FALLBACK = "connecting with MQTT 3.1.1"


@pytest.fixture
def amqtt_port() -> Iterator[int]:
    broker = EmbeddedBroker("127.0.0.1", free_port())
    broker.start()
    yield broker.port
    broker.stop()


def link_to(port: int, protocol: str) -> MqttLink:
    cfg = MqttConfig.model_validate({"port": port, "embedded": False, "protocol": protocol})
    return MqttLink(cfg, "porch", Topics("doorbell/porch"), connack_seconds=2.0)


def retained_status(port: int) -> bytes | None:
    """What a plain 3.1.1 client reads as the retained `status`."""
    got: list[bytes] = []
    received = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.on_connect = lambda c, u, f, r, p: c.subscribe("doorbell/porch/status", 1)

    def on_message(c: mqtt.Client, u: object, message: mqtt.MQTTMessage) -> None:
        got.append(bytes(message.payload))
        received.set()

    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        received.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0] if got else None


def test_auto_falls_back_to_311_once_and_says_so(
    amqtt_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="doorbell.uplink.mqtt_link")
    link = link_to(amqtt_port, "auto")
    link.start()
    try:
        assert link.connected.wait(20), caplog.text
        assert link.protocol == "3.1.1"
        assert retained_status(amqtt_port) == b"online"
        said = [r for r in caplog.records if FALLBACK in r.getMessage()]
        assert len(said) == 1, caplog.text
        assert "refused the connection" not in caplog.text
    finally:
        link.stop(2.0)


def test_a_pinned_5_does_not_fall_back(amqtt_port: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="doorbell.uplink.mqtt_link")
    link = link_to(amqtt_port, "5")
    link.start()
    try:
        unanswered = "did not answer an MQTT 5 connect in 2 s; still waiting"
        assert wait_until(lambda: unanswered in caplog.text, 20), caplog.text
        assert link.protocol == "5" and not link.connected.is_set()
        assert FALLBACK not in caplog.text
    finally:
        link.stop(2.0)


def test_auto_stays_on_5_with_a_broker_that_speaks_it(
    mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="doorbell.uplink.mqtt_link")
    link = link_to(mosquitto.port, "auto")
    link.start()
    try:
        assert link.connected.wait(20), caplog.text
        assert link.protocol == "5"
        assert FALLBACK not in caplog.text
    finally:
        link.stop(2.0)


def test_a_311_broker_refusing_version_5_reads_as_unsupported_protocol(amqtt_port: int) -> None:
    """What MqttLink falls back on: paho's reading of a 3.1.1 broker's refusal of a version 5
    CONNECT (amqtt answers one without a will; aedes and Azure IoT Hub answer every one)."""
    reasons: list[int] = []
    answered = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)

    def on_connect(c: mqtt.Client, u: object, f: object, reason: ReasonCode, p: object) -> None:
        reasons.append(reason.value)
        answered.set()

    client.on_connect = on_connect
    client.connect_async("127.0.0.1", amqtt_port)
    client.loop_start()
    try:
        assert answered.wait(10)
    finally:
        client.loop_stop()
    assert reasons[0] == UNSUPPORTED_PROTOCOL
