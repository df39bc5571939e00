"""A flood read too slowly is dropped with the connection (uplink/backlog_watch.py): what was sent
after it arrives at once instead of behind megabytes of junk. A real mosquitto, a real socket."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt

from doorbell.config.uplink import MqttConfig
from doorbell.uplink.mqtt_link import MqttLink
from doorbell.uplink.topics import Topics
from tests.support.broker import MosquittoBroker
from tests.support.waiting import wait_until

TOPIC = "doorbell/slow/cmd/mode"


def test_a_backlog_past_the_limit_is_dropped_with_the_connection(
    mosquitto: MosquittoBroker,
) -> None:
    cfg = MqttConfig.model_validate({"port": mosquitto.port, "embedded": False})
    link = MqttLink(cfg, "slow", Topics("doorbell/slow"), max_backlog_bytes=64 * 1024)
    link.subscriptions = [(TOPIC, 0)]
    got: list[bytes] = []
    after = threading.Event()

    def slow_reader(topic: str, payload: bytes, retained: bool) -> None:
        if payload == b"after":
            after.set()
        got.append(payload)
        time.sleep(0.005)  # 200 messages a second: the flood below is 25 s of reading

    link.on_message = slow_reader
    connects: list[float] = []
    link.on_connected = lambda: connects.append(time.monotonic())
    flooder = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    flooder.max_queued_messages_set(0)
    flooder.connect("127.0.0.1", mosquitto.port)
    flooder.loop_start()
    link.start()
    try:
        assert link.connected.wait(10)
        assert wait_until(lambda: flooder.publish(TOPIC, b"ping").rc == 0 and bool(got), 10)
        junk = b"j" * 1000
        for _ in range(5000):  # 5 MB at broker speed
            last = flooder.publish(TOPIC, junk)
        last.wait_for_publish(30)
        assert wait_until(lambda: link.backlog.resets >= 1, 15), "the backlog was never dropped"
        # the new connection (the count goes up as the reset begins: until the old connection
        # has gone, a message sent to it could be lost with its queue)
        assert wait_until(lambda: len(connects) >= 2, 10)
        read_before = len(got)
        # sent twice a second until read, as `doorbell owner send` sends the owner's commands:
        # behind the old backlog the first would wait 20 s or more
        deadline = time.monotonic() + 5
        while not after.is_set() and time.monotonic() < deadline:
            flooder.publish(TOPIC, b"after")
            after.wait(0.5)
        assert after.is_set(), f"'after' still queued ({len(got) - read_before} read since)"
        assert len(got) < 5000  # most of the junk went with the old connection
    finally:
        flooder.disconnect()
        flooder.loop_stop()
        link.stop(2.0)
