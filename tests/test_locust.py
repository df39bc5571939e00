"""Locust's distributed mode on this machine: a master and two workers, headless, running
emulated doorbells (device/locustfile.py) against a real mosquitto."""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from doorbell.device.emulation.mosquitto import MosquittoBroker, free_port
from tests.support.subscriber import Subscriber

pytestmark = pytest.mark.load

ROOT = Path(__file__).resolve().parent.parent
USERS = 6

# Looked up, not imported: importing locust monkey-patches this whole process for gevent
# (sockets, threads, os.read), which hangs other tests' subprocesses and pseudo-terminals.
if importlib.util.find_spec("locust") is None:
    pytest.skip("locust is not installed (pip install locust)", allow_module_level=True)


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def shipped_locustfile() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "doorbell.device", "fleet", "--locustfile"],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    return done.stdout.strip()


def locust(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", shipped_locustfile(), *args],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_master_and_two_workers_run_doorbells_without_failures(
    mqtt_broker: MosquittoBroker, tmp_path: Path
) -> None:
    watcher = Subscriber(mqtt_broker.port, ["doorbell/+/event"])
    port = free_port()
    master = locust(
        "--headless",
        "--master",
        "--master-bind-port",
        str(port),
        "--expect-workers",
        "2",
        "-u",
        str(USERS),
        "-r",
        str(USERS),
        "--run-time",
        "12s",
        "--stop-timeout",
        "10",
        "--host",
        mqtt_broker.url,
        "--doorbell-speed",
        "10",
        "--csv",
        "run",
        "--only-summary",
        cwd=tmp_path,
    )
    workers = [locust("--worker", "--master-port", str(port), cwd=tmp_path) for _ in range(2)]
    try:
        out, _ = master.communicate(timeout=120)
    finally:
        for proc in [master, *workers]:
            if proc.poll() is None:
                proc.kill()
        for worker in workers:
            worker.wait(30)
    assert master.returncode == 0, out[-3000:]
    assert f"({USERS} total users)" in out, out[-3000:]
    rows = {r["Name"]: r for r in csv.DictReader((tmp_path / "run_stats.csv").open())}
    assert int(rows["Aggregated"]["Failure Count"]) == 0, rows
    assert int(rows["connect"]["Request Count"]) == USERS
    acked = int(rows["alert"]["Request Count"])
    assert acked >= 2 * USERS  # every user's first visit started and ended (12 s at 10x)
    devices = {m.topic.split("/")[1] for m in watcher.messages}
    assert len(devices) == USERS and all(d.startswith("locust-") for d in devices)
    watcher.close()
