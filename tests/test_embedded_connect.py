"""Connecting to its own broker is immediate. The cause of the minute it sometimes took: paho's
reconnect opens its socket and then sends CONNECT, and a publish from another thread in between
(the device publishes its retained state as it starts) went out before the CONNECT; amqtt waits
for a CONNECT first and never answered, so the device waited out its keepalive (~60 s). MqttLink
now hands nothing to paho until the CONNACK."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from doorbell.config.uplink import MqttConfig
from doorbell.uplink.embedded_broker import EmbeddedBroker
from doorbell.uplink.mqtt_link import MqttLink
from doorbell.uplink.topics import Topics
from tests.support.broker import free_port
from tests.support.process import doorbell


def test_publishing_while_it_connects_does_not_stall_the_connect() -> None:
    port = free_port()
    broker = EmbeddedBroker("127.0.0.1", port, None)  # amqtt, anonymous: the same broker code
    broker.start()
    took = []
    try:
        for n in range(5):
            cfg = MqttConfig(host="127.0.0.1", port=port, protocol="3.1.1")
            link = MqttLink(cfg, f"race-{n}", Topics(f"doorbell/race-{n}"))
            stop = threading.Event()

            def publish_meanwhile(link: MqttLink = link, stop: threading.Event = stop) -> None:
                while not stop.is_set():  # as the device's start-up does: retained state
                    link.publish(link.topics.motion, "OFF", retain=True)

            spammer = threading.Thread(target=publish_meanwhile)
            spammer.start()
            began = time.monotonic()
            link.start()
            try:
                assert link.connected.wait(15), f"connect {n} got no CONNACK"
                took.append(time.monotonic() - began)
            finally:
                stop.set()
                spammer.join(5)
                link.stop(2)
    finally:
        broker.stop()
    assert max(took) < 3.0, took


def test_the_device_is_online_on_its_embedded_broker_quickly_after_each_restart(
    tmp_path: Path,
) -> None:
    data, port = tmp_path / "data", free_port()
    args = ["--data-dir", str(data), "--device-id", "emb", "--camera", "synthetic:bush"]
    args += ["--set", f"mqtt.port={port}", "--set", "web.listen=null"]
    took = []
    for n in range(6):
        if n == 3:  # and after `doorbell erase`, where the issue saw it twice
            erased = doorbell("erase", "--yes", *args[:2], "--set", f"mqtt.port={port}")
            # (its broker is the device's own, not running now: the retained ones stay)
            assert "local data erased" in erased.stdout + erased.stderr, erased.stderr
        began = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "doorbell.device", "run", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stderr is not None
            for line in proc.stderr:  # one line per event: no fixed wait
                if "connected to broker" in line:
                    took.append(time.monotonic() - began)
                    break
                assert "still waiting" not in line, f"restart {n}: {line}"
        finally:
            proc.terminate()
            proc.wait(30)
    # including Python's own start. The stall this guards against waited out the broker's 60 s
    # keepalive; 15 s leaves room for a loaded CI machine (8.5 s seen with five sessions running)
    # while the figure itself is benchmarks/embedded_connect.py's.
    assert len(took) == 6 and max(took) < 15.0, took
