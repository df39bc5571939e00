"""Soak (not in CI): the device in real time at 640x480 for `--minutes`, a visitor every ~30 s
(walk_up_ring, looped), the broker (mosquitto) killed and restarted every ~45 s, the data dir (a
tmpfs, when root) filled to the last byte and freed again, the other core kept busy. Prints
alerts raised / delivered / lost, the worst delivery delay, frames dropped by stage, RSS each
minute, and how long after each broker restart the device was online again.

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--disk 64m]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from doorbell.device.emulation.mosquitto import MosquittoBroker
from tests.support.small_disk import fill, mount_tmpfs, unmount

BROKER_EVERY = 45.0  # seconds between broker kills
BROKER_DOWN = 2.0  # seconds it stays down
DISK_EVERY = 120.0  # seconds between fills of the data dir; freed again after DISK_FULL_FOR
DISK_FULL_FOR = 50.0
ALERT = re.compile(r"^(?:ALERT motion|RING) (\S+)")


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Watcher:
    """The resident's side: every `event` message with its arrival time."""

    def __init__(self, port: int) -> None:
        self.arrived: dict[tuple[str, str], float] = {}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *a: c.subscribe("doorbell/soak/event", 1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, c: Any, u: Any, msg: mqtt.MQTTMessage) -> None:
        doc = json.loads(msg.payload)
        self.arrived.setdefault((doc["id"], doc["state"]), time.monotonic())

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--disk", default="64m", help="tmpfs size for the data dir (root only)")
    args = parser.parse_args()
    seconds = args.minutes * 60
    tmp = Path(tempfile.mkdtemp(prefix="doorbell-soak-"))
    data = tmp / "data"
    mounted = mount_tmpfs(data, args.disk) is None
    print(f"data dir {data} ({'tmpfs ' + args.disk if mounted else 'not a tmpfs: never filled'})")
    broker = MosquittoBroker(tmp / "broker")
    broker.start()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # the other core
    watcher = Watcher(broker.port)
    summary = tmp / "summary.json"
    device = subprocess.Popen(
        [sys.executable, "-m", "doorbell.device", "run", "--data-dir", str(data)]
        + ["--device-id", "soak", "--broker", broker.url, "--camera", "synthetic:walk_up_ring"]
        + ["--loop", "--speed", "1", "--duration", f"{seconds:g}", "--summary-json", str(summary)]
        + ["--set", "camera.width=640", "--set", "camera.height=480", "--set", "web.listen=null"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # each ALERT line when it is printed
    )
    raised: dict[str, float] = {}
    connected_at: list[float] = []

    def read_stdout() -> None:
        assert device.stdout is not None
        for line in device.stdout:
            if m := ALERT.match(line):
                raised[m.group(1)] = time.monotonic()

    def read_stderr() -> None:
        assert device.stderr is not None
        with (tmp / "device.log").open("w") as log:
            for line in device.stderr:
                log.write(line)
                if "connected to broker" in line or "reachable again" in line:
                    connected_at.append(time.monotonic())

    threads = [threading.Thread(target=read_stdout), threading.Thread(target=read_stderr)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    restarts: list[float] = []
    rss: list[tuple[int, float | None]] = []
    next_broker, next_disk, next_minute = BROKER_EVERY, DISK_EVERY, 60.0
    filler: Path | None = None
    filled_at = 0.0
    try:
        while device.poll() is None:
            now = time.monotonic() - began
            if now >= next_minute:
                rss.append((int(next_minute // 60), rss_mb(device.pid)))
                next_minute += 60
            if now >= next_broker and now < seconds - 10:
                broker.stop()
                time.sleep(BROKER_DOWN)
                broker.start()
                restarts.append(time.monotonic())
                next_broker += BROKER_EVERY
            if mounted and filler is None and now >= next_disk and now < seconds - 60:
                filler, filled_at = fill(data, name="soak-filler"), now
                print(f"[{now:5.0f} s] data dir filled")
            if filler is not None and now >= filled_at + DISK_FULL_FOR:
                filler.unlink()
                filler = None
                next_disk = now + DISK_EVERY - DISK_FULL_FOR
                print(f"[{now:5.0f} s] data dir freed")
            time.sleep(0.2)
        for thread in threads:
            thread.join(30)
        deadline = time.monotonic() + 30  # what was raised last may still be on its way
        while time.monotonic() < deadline and any(
            (i, "start") not in watcher.arrived for i in raised
        ):
            time.sleep(0.2)
    finally:
        busy.kill()
        if device.poll() is None:
            device.terminate()
            device.wait(30)
        watcher.close()
        broker.stop()
        if filler is not None:
            filler.unlink(missing_ok=True)
        if mounted:
            unmount(data)
    lost = [i for i in raised if (i, "start") not in watcher.arrived]
    delays = [watcher.arrived[(i, "start")] - t for i, t in raised.items() if i not in lost]
    online_after = [
        min((c - r for c in connected_at if c >= r - 0.5), default=float("inf")) for r in restarts
    ]
    print(f"{args.minutes:g} min at 640x480, real time; device exit {device.returncode}")
    print(
        f"alerts raised {len(raised)}, delivered {len(raised) - len(lost)}, lost {len(lost)}; "
        f"worst delivery delay {max(delays, default=0) * 1000:.0f} ms (ALERT line to subscriber)"
    )
    if summary.exists():
        doc = json.loads(summary.read_text())
        print(
            f"frames {doc['frames']}; dropped: camera {doc['dropped_camera']}, analysis "
            f"{doc['dropped_analysis']}, recording {doc['dropped_recording']}; clips "
            f"{doc['clips']}; recording at the end {doc['recording']}"
            + (f" (failed: {doc['recording_failed']})" if doc["recording_failed"] else "")
        )
    print("RSS MB each minute: " + ", ".join(f"{m}: {v:.1f}" for m, v in rss if v is not None))
    late = [f"{t:.1f}" for t in online_after]
    print(f"broker restarts {len(restarts)}; online again after (s): {', '.join(late)}")
    print(f"device log: {tmp / 'device.log'}")
    return 0 if not lost else 1


if __name__ == "__main__":
    sys.exit(main())
