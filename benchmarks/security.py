"""What floods cost a running device (issue #14): resident memory while two 150 MB payloads are
published on its command topics, and how much a junk footage-request flood writes to the audit log.

Runs a real `doorbell run` against a real mosquitto on loopback. Prints its figures.
"""

from __future__ import annotations

import json
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from doorbell.device.system.memory import status_mb
from tests.support.broker import MosquittoBroker
from tests.support.process import DoorbellProcess
from tests.support.subscriber import Subscriber

FLOOD_SECONDS = 70  # past a minute's end, so the count of refusals is written


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        broker = MosquittoBroker(root / "broker")
        broker.start()
        data = root / "data"
        dev = DoorbellProcess(
            root / "p",
            "--broker",
            broker.url,
            "--device-id",
            "bench",
            "--data-dir",
            str(data),
            "--camera",
            "synthetic",
            "--speed",
            "1",
            "--loop",
            "--set",
            "uplink.commands.unsigned=[ping]",
        )
        sub = Subscriber(broker.port, ["doorbell/bench/cmd/+/result"])
        try:
            while not sub.messages:  # the device answers commands
                sub.client.publish("doorbell/bench/cmd/ping", '{"request_id": "w"}', qos=1)
                sub.wait_for(lambda ms: bool(ms), timeout=0.5)
            before = status_mb("VmRSS", dev.proc.pid)
            huge = b"x" * (150 * 1024 * 1024)
            began = time.monotonic()
            for name in ("footage_request", "mode"):
                sub.client.publish(f"doorbell/bench/cmd/{name}", huge, qos=1).wait_for_publish(120)
            del huge
            sub.client.publish("doorbell/bench/cmd/ping", '{"request_id": "after"}', qos=1)
            sub.wait_for(lambda ms: any(b'"after"' in m.payload for m in ms), timeout=60)
            peak = status_mb("VmHWM", dev.proc.pid)
            print(
                f"payload flood (2 x 150 MB on cmd/): RSS {before:.0f} MB before, "
                f"peak {peak:.0f} MB (MemoryMax 300 MB), device answering "
                f"{time.monotonic() - began:.1f} s later"
            )
            audit = data / "audit.jsonl"
            size_before = audit.stat().st_size if audit.exists() else 0
            began, sent = time.monotonic(), 0
            while time.monotonic() - began < FLOOD_SECONDS:
                body = json.dumps({"request_id": f"junk-{sent}", "x": 1})
                sub.client.publish("doorbell/bench/cmd/footage_request", body, qos=0)
                sent += 1
                if sent % 1000 == 0:
                    time.sleep(0.01)  # paho's queue, not the device, would otherwise be the limit
            # the minute's count is written at the device's next poll (every 10 s)
            time.sleep(12)
            grown = (audit.stat().st_size if audit.exists() else 0) - size_before
            entries = [json.loads(line) for line in audit.read_text().splitlines()]
            counted = sum(e["data"]["total"] for e in entries if e["kind"] == "refused")
            print(
                f"junk request flood: {sent} messages in {FLOOD_SECONDS} s; {counted} reached the "
                f"device (30 a minute per topic), {len(entries)} audit entries, the log grew "
                f"{grown} bytes (before: one fsync'd entry per message)"
            )
        finally:
            sub.close()
            dev.signal(signal.SIGTERM)
            dev.wait()
            broker.stop()


if __name__ == "__main__":
    main()
