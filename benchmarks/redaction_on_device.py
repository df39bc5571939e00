"""Faces filled inside a running device (issue 30): what a share with `requests.redact: faces`
costs the device while its camera runs in real time.

A real `doorbell run` (synthetic camera at 640x480, real time, real mosquitto) records a clip;
a signed footage request (policy share_all) makes its upload worker redact and upload it to a
loopback HTTP server. Printed: how long the share took, the device's peak RSS before the request
and after the upload (VmHWM), its private memory (RssAnon) before the request and at its peak
during the share, the redaction worker's own peak private memory (polled every 5 ms: a process
of its own, benchmarks/redaction_passes.py), and the frames the device dropped over the whole
run (its summary line at exit).

    .venv/bin/python benchmarks/redaction_on_device.py [--scenario synthetic:walk_up_ring]
        [--redact faces|none]

Goals: the device's memory +60 MB at most while it shares (its own growth plus its worker's
private peak); the camera drops nothing meanwhile.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.redaction_passes import stage_of, worker_of  # noqa: E402
from doorbell.device.system.memory import status_mb  # noqa: E402
from tests.support.broker import MosquittoBroker  # noqa: E402
from tests.support.footage import PutServer, Signer, iso, request_body  # noqa: E402
from tests.support.process import DoorbellProcess  # noqa: E402
from tests.support.subscriber import Subscriber  # noqa: E402


def doorbell(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doorbell.device", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def first_complete_clip(data: Path, dev: DoorbellProcess, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = doorbell("clips", "list", "--json", "--data-dir", str(data))
        rows = json.loads(listed.stdout) if listed.returncode == 0 else []
        if rows and rows[0]["state"] == "complete":
            return dict(rows[0])
        time.sleep(1.0)
    raise SystemExit(f"no clip in {timeout:.0f} s: {dev.stderr[-2000:]}")


def watch(device: int, peaks: dict[str, float], done: threading.Event) -> None:
    """The device's private memory and its worker's, at their peaks, until `done`."""
    worker = None
    while not done.is_set():
        peaks["device"] = max(peaks.get("device", 0.0), status_mb("RssAnon", device))
        if worker is None:
            worker = worker_of(device)
        else:
            try:
                anon = status_mb("RssAnon", worker)
            except (OSError, ValueError):  # done
                worker = None
                continue
            peaks["worker"] = max(peaks.get("worker", 0.0), anon)
            stage = stage_of(worker, "people")  # the pass it runs (each a process of its own)
            if stage is not None:
                peaks[stage] = max(peaks.get(stage, 0.0), anon)
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="synthetic:walk_up_ring")
    parser.add_argument(
        "--redact", choices=("faces", "none"), default="faces", help="none: the same without"
    )
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="doorbell-redact-"))
    broker = MosquittoBroker(work / "broker")
    broker.start()
    signer, server = Signer(), PutServer()
    data = work / "data"
    began = time.time()
    dev = DoorbellProcess(
        work / "p",
        *("--broker", broker.url, "--device-id", "fe", "--data-dir", str(data)),
        *("--camera", opts.scenario, "--loop", "--log-level", "WARNING"),
        *("--set", "camera.width=640", "--set", "camera.height=480", "--set", "web.listen=null"),
        *("--set", "requests.policy=share_all", "--set", f"requests.redact={opts.redact}"),
        *("--set", f"requests.trusted_keys=[{signer.public}]"),
        *("--set", "requests.allow_insecure_upload=true"),
    )
    try:
        clip = first_complete_clip(data, dev, timeout=180)
        while time.time() <= float(str(clip["end_wall"])):
            time.sleep(0.2)
        now = time.time()
        body = request_body(
            "bench-1",
            began - 60,
            now,
            now + 600,
            server.url("/upload/{name}"),
            audience="fe",
            issued_at=iso(now),
        )
        results = Subscriber(broker.port, ["doorbell/fe/cmd/footage_request/result"])
        peak_before = status_mb("VmHWM", dev.proc.pid)
        anon_before = status_mb("RssAnon", dev.proc.pid)
        peaks: dict[str, float] = {}
        done = threading.Event()
        watcher = threading.Thread(target=watch, args=(dev.proc.pid, peaks, done), daemon=True)
        watcher.start()
        asked = time.monotonic()
        results.client.publish(
            "doorbell/fe/cmd/footage_request", json.dumps(signer.sign(body)), qos=1
        )
        if not results.wait_for(lambda ms: bool(ms), timeout=300):
            raise SystemExit(f"no reply to the request: {dev.stderr[-2000:]}")
        took = time.monotonic() - asked
        done.set()
        watcher.join()
        peak_after = status_mb("VmHWM", dev.proc.pid)
        reply = json.loads(results.messages[0].payload)
        results.close()
        dev.signal(signal.SIGTERM)
        dev.wait()
    finally:
        dev.kill()
        server.close()
        broker.stop()
    summary = dev.stdout.strip().splitlines()[-1] if dev.stdout.strip() else ""
    drops = re.search(r"dropped: (\d+) by camera, (\d+) by analysis, (\d+) by recording", summary)
    print(f"clip: {clip['seconds']} s; share: {reply['decision']}, {reply.get('redaction')}")
    print(f"request to reply: {took:.1f} s (redact, then upload to loopback)")
    print(
        f"device peak RSS: {peak_before:.0f} MB before -> {peak_after:.0f} MB after "
        f"= +{peak_after - peak_before:.0f} MB (goal <= +60 MB)"
    )
    growth, worker = peaks["device"] - anon_before, peaks.get("worker", 0.0)
    print(
        f"device private (RssAnon): {anon_before:.1f} MB before -> {peaks['device']:.1f} MB at "
        f"its peak during the share (+{growth:.1f}); its worker's peak {worker:.1f} MB; "
        f"together +{growth + worker:.1f} MB (goal <= +60 MB)"
    )
    passes = [f"{name} {peaks[name]:.1f}" for name in ("people", "faces", "fill") if name in peaks]
    print(f"the worker's peak by pass (RssAnon, MB): {', '.join(passes)}")
    print(f"drops over the run: {drops.group(0) if drops else summary!r} (goal: 0 by camera)")


if __name__ == "__main__":
    main()
