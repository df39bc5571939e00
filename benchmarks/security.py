"""What attacks on the broker and the LAN cost a running device (issues #14 and #28). Each part
runs a real `doorbell run` (synthetic camera) and prints its figures:

- names:    a flood at broker speed for --seconds, three publishers: of made-up command names
            (cmd/x000000001, ...; --flood made-up, the default) or two of them and one of junk on
            cmd/mode (--flood mixed): the device's idle and peak RSS, when the owner's signed
            `mode`, sent half-way through the flood as `doorbell owner send` sends it (two copies
            a second, each signed afresh, until answered; --copies-per-second), was answered,
            and a `ping` sent 5 s after the flood; --floods N runs it N times;
- logins:   60 simultaneous logins on the page (59 wrong, 1 right): how many passwords were
            checked (401 or 303) and refused unchecked (429), the RSS before and at the peak;
- retained: a 150 MB retained message published on the embedded broker: the RSS before and at
            the peak, and whether the device still answers;
- payload:  two 150 MB payloads on cmd/ of a mosquitto (issue #14);
- requests: a 70 s junk footage-request flood: what the audit log grows by (issue #14).

    python benchmarks/security.py [--only names,logins,retained,payload,requests] [--seconds 30]
        [--flood made-up|mixed] [--floods 5] [--copies-per-second 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from doorbell.config.uplink import MqttConfig
from doorbell.device.system.memory import status_mb
from doorbell.uplink.owner_sender import send_signed
from doorbell.uplink.requests.signing import public_key_b64
from tests.support.broker import MosquittoBroker, free_port
from tests.support.process import DoorbellProcess
from tests.support.subscriber import Subscriber

BASE = "doorbell/bench"
PARTS = ("names", "logins", "retained", "payload", "requests")


@contextmanager
def running(root: Path, *args: str) -> Iterator[DoorbellProcess]:
    dev = DoorbellProcess(
        root / "p",
        "--device-id",
        "bench",
        "--data-dir",
        str(root / "data"),
        "--camera",
        "synthetic",
        "--speed",
        "1",
        "--loop",
        *args,
    )
    try:
        yield dev
    finally:
        dev.signal(signal.SIGTERM)
        dev.wait()
        dev.kill()


class PeakRss:
    """The device's RSS sampled every 0.1 s on a thread, from start() to stop()."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, status_mb("VmRSS", self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def answered(sub: Subscriber, request_id: str, timeout: float) -> float | None:
    """Seconds until the result carrying `request_id` arrived; None if it did not."""
    began = time.monotonic()
    needle = f'"request_id":"{request_id}"'.encode()

    def found(ms: list[Any]) -> bool:
        return any(needle in m.payload.replace(b" ", b"") for m in ms)

    return time.monotonic() - began if sub.wait_for(found, timeout) else None


def warm(sub: Subscriber) -> None:
    while not sub.wait_for(lambda ms: bool(ms), timeout=0.5):
        sub.client.publish(f"{BASE}/cmd/ping", '{"request_id": "warm"}', qos=1)


def flood(port: int, topic_of: Callable[[int], str], seconds: float, sent: Any) -> None:
    """One publisher at the speed paho and the broker allow, QoS 0."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_queued_messages_set(10_000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    n, end = 0, time.monotonic() + seconds
    body = b'{"request_id": "junk", "mode": "disarmed"}'
    while time.monotonic() < end:
        if client.publish(topic_of(n), body, qos=0).rc == mqtt.MQTT_ERR_SUCCESS:
            n += 1
        else:
            time.sleep(0.001)  # paho's own queue is full: the broker is the limit
    client.loop_stop()
    client.disconnect()
    with sent.get_lock():
        sent.value += n


def made_up(n: int) -> str:
    return f"{BASE}/cmd/x{n:09d}"


def on_mode(n: int) -> str:
    return f"{BASE}/cmd/mode"


FLOODS: dict[str, tuple[Callable[[int], str], ...]] = {
    "made-up": (made_up, made_up, made_up),  # issue 28's flood: names that are no command
    "mixed": (made_up, made_up, on_mode),  # and a third of it on cmd/mode itself
}


def bench_names(root: Path, seconds: float, kind: str = "mixed", rate: float = 1.0) -> None:
    broker = MosquittoBroker(root / "broker")
    broker.start()
    owner = Ed25519PrivateKey.generate()
    args = [
        "--broker",
        broker.url,
        "--set",
        f"uplink.commands.owner_keys=[{public_key_b64(owner)}]",
    ]
    args += ["--set", "uplink.commands.unsigned=[ping]", "--set", "uplink.telemetry_seconds=5"]
    try:
        with running(root, *args) as dev:
            sub = Subscriber(broker.port, [f"{BASE}/cmd/+/result", f"{BASE}/telemetry"])
            warm(sub)
            time.sleep(3)  # settle after start
            idle = status_mb("VmRSS", dev.proc.pid)
            sent = multiprocessing.Value("q", 0)
            floods = [
                multiprocessing.Process(target=flood, args=(broker.port, topic_of, seconds, sent))
                for topic_of in FLOODS[kind]
            ]
            with PeakRss(dev.proc.pid) as rss:
                began = time.monotonic()
                for p in floods:
                    p.start()
                time.sleep(seconds / 2)
                # As `doorbell owner send` does: two copies a second, each signed afresh, until
                # one is answered (here for up to the flood's length, to see past 10 s).
                outcome = send_signed(
                    MqttConfig(host="127.0.0.1", port=broker.port),
                    BASE,
                    "bench",
                    owner,
                    "mode",
                    {"request_id": "owner", "mode": "home"},
                    tries=max(int(seconds * rate), 1),
                    timeout=seconds,
                )
                owner_s = outcome.seconds if outcome.answer is not None else None
                for p in floods:
                    p.join()
                flood_s = time.monotonic() - began
                time.sleep(5)
                sub.client.publish(f"{BASE}/cmd/ping", '{"request_id": "after"}', qos=1)
                ping_s = answered(sub, "after", 30)
            telemetry = [json.loads(m.payload) for m in sub.on(f"{BASE}/telemetry")]
            sub.close()
        last = telemetry[-1] if telemetry else {}
        share = "all made-up names" if kind == "made-up" else "2/3 made-up names, 1/3 on cmd/mode"
        print(
            f"names ({kind}): {sent.value} junk messages in {flood_s:.1f} s "
            f"({sent.value / flood_s:.0f}/s; {share}): RSS idle "
            f"{idle:.0f} MB, peak {rss.peak:.0f} MB (+{rss.peak - idle:.0f}); the owner's signed "
            f"mode ({rate:g} copies a second) answered {fmt(owner_s)} after the first copy, sent "
            f"mid-flood ({outcome.copies} copies sent); a ping sent 5 s after "
            f"the flood answered in {fmt(ping_s)}; telemetry: commands_junk "
            f"{last.get('commands_junk')}, commands_dropped {last.get('commands_dropped')}, "
            f"broker_resets {last.get('broker_resets')}"
        )
    finally:
        broker.stop()


def fmt(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.2f} s"


def bench_logins(root: Path) -> None:
    password = "correct horse battery staple"
    data = root / "data"
    made = subprocess.run(
        [sys.executable, "-m", "doorbell.device", "web", "set-password", "--password-stdin"]
        + ["--data-dir", str(data)],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    port = free_port()
    args = ["--set", "mqtt.port=1", "--set", "mqtt.embedded=false"]
    args += ["--set", f"web.listen=127.0.0.1:{port}"]
    with running(root, *args) as dev:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/login", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the page never answered"
                time.sleep(0.1)
        time.sleep(2)
        idle = status_mb("VmRSS", dev.proc.pid)
        start = threading.Barrier(60)
        codes: list[int] = []

        def login(n: int) -> None:
            start.wait()
            reply = requests.post(
                url + "/login",
                data={"password": password if n == 59 else "wrong password", "next": "/live"},
                allow_redirects=False,
                timeout=120,
            )
            codes.append(reply.status_code)

        with PeakRss(dev.proc.pid) as rss:
            began = time.monotonic()
            threads = [threading.Thread(target=login, args=(n,)) for n in range(60)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            took = time.monotonic() - began
        checked = codes.count(401) + codes.count(303)
        print(
            f"logins: 60 at once (web.login_attempts 5): {checked} checked "
            f"({codes.count(303)} got in), {codes.count(429)} refused unchecked, in {took:.2f} s; "
            f"RSS idle {idle:.0f} MB, peak {rss.peak:.0f} MB (+{rss.peak - idle:.0f})"
        )


def bench_retained(root: Path) -> None:
    port = free_port()
    args = ["--set", "mqtt.host=127.0.0.1", "--set", f"mqtt.port={port}"]
    args += ["--set", "mqtt.embedded=true", "--set", "uplink.commands.unsigned=[ping]"]
    with running(root, *args) as dev:
        login_file = root / "data" / "broker-login.json"
        deadline = time.monotonic() + 30
        while not login_file.exists() or not _listening(port):
            assert time.monotonic() < deadline, "the embedded broker never started"
            time.sleep(0.1)
        login = json.loads(login_file.read_text())
        time.sleep(3)
        idle = status_mb("VmRSS", dev.proc.pid)
        closed = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)  # 3.1.1, as amqtt speaks
        client.username_pw_set(login["username"], login["password"])
        client.on_disconnect = lambda *a: closed.set()
        client.reconnect_delay_set(600, 600)
        client.connect("127.0.0.1", port)
        client.loop_start()
        with PeakRss(dev.proc.pid) as rss:
            huge = b"x" * (150 * 1024 * 1024)
            client.publish(f"{BASE}/cmd/mode", huge, qos=0, retain=True)
            del huge
            was_closed = closed.wait(120)
            client.loop_stop()
            reader = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
            reader.username_pw_set(login["username"], login["password"])
            got = threading.Event()
            reader.on_connect = lambda c, *a: c.subscribe(f"{BASE}/cmd/ping/result", qos=1)
            reader.on_subscribe = lambda c, *a: c.publish(
                f"{BASE}/cmd/ping", '{"request_id": "after"}', qos=1
            )
            reader.on_message = lambda *a: got.set()
            reader.connect("127.0.0.1", port)
            reader.loop_start()
            ping = got.wait(30)
            reader.loop_stop()
            time.sleep(1)
        print(
            f"retained: 150 MB retained on the embedded broker: connection closed "
            f"{'before the body was read' if was_closed else 'NOT closed'}; RSS idle "
            f"{idle:.0f} MB, peak {rss.peak:.0f} MB (+{rss.peak - idle:.0f}); the device "
            f"{'answers a ping after it' if ping else 'does NOT answer a ping after it'}"
        )


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def bench_payload(root: Path) -> None:
    broker = MosquittoBroker(root / "broker")
    broker.start()
    try:
        with running(
            root, "--broker", broker.url, "--set", "uplink.commands.unsigned=[ping]"
        ) as dev:
            sub = Subscriber(broker.port, [f"{BASE}/cmd/+/result"])
            warm(sub)
            before = status_mb("VmRSS", dev.proc.pid)
            huge = b"x" * (150 * 1024 * 1024)
            began = time.monotonic()
            for name in ("footage_request", "mode"):
                sub.client.publish(f"{BASE}/cmd/{name}", huge, qos=1).wait_for_publish(120)
            del huge
            sub.client.publish(f"{BASE}/cmd/ping", '{"request_id": "after"}', qos=1)
            answered(sub, "after", 60)
            peak = status_mb("VmHWM", dev.proc.pid)
            print(
                f"payload: 2 x 150 MB on cmd/ of mosquitto: RSS {before:.0f} MB before, peak "
                f"{peak:.0f} MB, device answering {time.monotonic() - began:.1f} s later"
            )
            sub.close()
    finally:
        broker.stop()


def bench_requests(root: Path) -> None:
    seconds = 70  # past a minute's end, so the count of refusals is written
    broker = MosquittoBroker(root / "broker")
    broker.start()
    data = root / "data"
    try:
        with running(root, "--broker", broker.url, "--set", "uplink.commands.unsigned=[ping]"):
            sub = Subscriber(broker.port, [f"{BASE}/cmd/+/result"])
            warm(sub)
            audit = data / "audit.jsonl"
            size_before = audit.stat().st_size if audit.exists() else 0
            began, sent = time.monotonic(), 0
            while time.monotonic() - began < seconds:
                body = json.dumps({"request_id": f"junk-{sent}", "x": 1})
                sub.client.publish(f"{BASE}/cmd/footage_request", body, qos=0)
                sent += 1
                if sent % 1000 == 0:
                    time.sleep(0.01)  # paho's queue, not the device, would otherwise be the limit
            time.sleep(12)  # the minute's count is written at the device's next poll (10 s)
            grown = (audit.stat().st_size if audit.exists() else 0) - size_before
            entries = [json.loads(line) for line in audit.read_text().splitlines()]
            counted = sum(e["data"]["total"] for e in entries if e["kind"] == "refused")
            print(
                f"requests: {sent} junk footage requests in {seconds} s; {counted} reached the "
                f"device, {len(entries)} audit entries, the log grew {grown} bytes"
            )
            sub.close()
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="names,logins,retained", help=f"of {','.join(PARTS)}")
    parser.add_argument("--seconds", type=float, default=30.0, help="the names flood's length")
    parser.add_argument("--floods", type=int, default=1, help="how many names floods to run")
    parser.add_argument(
        "--flood", choices=sorted(FLOODS), default="made-up", help="what the names flood sends"
    )
    parser.add_argument(
        "--copies-per-second",
        type=float,
        default=2.0,
        help="the owner's copies (doorbell owner send's default: --tries 20 over --timeout 10)",
    )
    args = parser.parse_args()
    parts = args.only.split(",")
    parts = [p for part in parts for p in ([part] * args.floods if part == "names" else [part])]
    for part in parts:
        with tempfile.TemporaryDirectory() as tmp:
            if part == "names":
                bench_names(Path(tmp), args.seconds, args.flood, args.copies_per_second)
            elif part == "logins":
                bench_logins(Path(tmp))
            elif part == "retained":
                bench_retained(Path(tmp))
            elif part == "payload":
                bench_payload(Path(tmp))
            elif part == "requests":
                bench_requests(Path(tmp))
            else:
                parser.error(f"no part {part!r} (parts: {', '.join(PARTS)})")


if __name__ == "__main__":
    main()
