"""Does the QoS of the device's subscription matter to a slow reader under a flood (issue 28)?
What a real mosquitto delivers to a slow reader during a QoS 0 flood, when the reader's
subscription is QoS 1 and when it is QoS 0. No device: one paho subscriber that reads slowly (as
the device does under a flood), flood publishers at broker speed, and an "owner" who publishes a
QoS 1 copy every --every seconds from half-way through the flood, as `doorbell owner send` does.
Prints, for each subscription QoS, when the first copy arrived and whether a message published
after the flood did.

    python benchmarks/mosquitto_qos_flood.py [--seconds 20] [--every 0.5] [--work 3000]
        [--publishers 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt

from tests.support.broker import MosquittoBroker


def flood(port: int, seconds: float) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_queued_messages_set(10_000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        if client.publish(f"t/x{n}", b"junk" * 10, qos=0).rc == mqtt.MQTT_ERR_SUCCESS:
            n += 1
        else:
            time.sleep(0.001)
    client.loop_stop()


def run(sub_qos: int, seconds: float, every: float, work: int, publishers: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoBroker(Path(tmp))
        broker.start()
        try:
            return _measure(broker.port, sub_qos, seconds, every, work, publishers)
        finally:
            broker.stop()


def _measure(
    port: int, sub_qos: int, seconds: float, every: float, work: int, publishers: int
) -> str:
    got: list[str] = []
    owner_seen, after_seen = threading.Event(), threading.Event()

    def slow(client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        got.append(msg.topic)
        if msg.topic.startswith("t/owner"):
            owner_seen.set()
        elif msg.topic == "t/after":
            after_seen.set()
        x = 0
        for i in range(work):  # some work a message: a reader slower than the flood
            x += i

    reader = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev", protocol=mqtt.MQTTv5)
    reader.on_message = slow
    reader.connect("127.0.0.1", port)
    reader.subscribe("t/#", qos=sub_qos)
    reader.loop_start()
    time.sleep(0.5)
    floods = [
        multiprocessing.Process(target=flood, args=(port, seconds)) for _ in range(publishers)
    ]
    for p in floods:
        p.start()
    time.sleep(seconds / 2)
    owner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    owner.connect("127.0.0.1", port)
    owner.loop_start()
    began, copies, first = time.monotonic(), 0, None
    while time.monotonic() - began < seconds / 2 + 30:  # to 30 s past the flood's end
        owner.publish(f"t/owner{copies}", b"owner", qos=1)
        copies += 1
        if owner_seen.wait(every):
            first = time.monotonic() - began
            break
    for p in floods:
        p.join()
    owner.publish("t/after", b"after", qos=0)
    after = after_seen.wait(30)
    owner.loop_stop()
    reader.loop_stop()
    arrived = sorted(t for t in got if t.startswith("t/owner"))
    return (
        f"subscription QoS {sub_qos}: {copies} owner copies (QoS 1, one every {every:g} s), "
        f"first arrived {'never' if first is None else f'{first:.1f} s after the first copy'}"
        f" ({len(arrived)} arrived in all); a QoS 0 message sent after the flood "
        f"{'arrived' if after else 'did NOT arrive within 30 s'}; {len(got)} messages read"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="the flood's length")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between owner copies")
    parser.add_argument("--work", type=int, default=3000, help="loop steps a message (slowness)")
    parser.add_argument("--publishers", type=int, default=3, help="flood publishers")
    args = parser.parse_args()
    for sub_qos in (1, 0):
        print(run(sub_qos, args.seconds, args.every, args.work, args.publishers), flush=True)


if __name__ == "__main__":
    main()
