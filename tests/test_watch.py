"""`doorbell watch`: one line per ring, `--count` counts rings not messages, and a broker it cannot
reach is an error with the reason (exit 1), not silence and exit 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config.data_dir import DataDir
from tests.support.broker import MosquittoBroker, free_port
from tests.support.process import DoorbellProcess, doorbell


def test_a_broker_that_cannot_be_reached_is_an_error_with_the_reason() -> None:
    port = free_port()  # nothing listens there
    proc = doorbell("watch", "--broker", f"mqtt://127.0.0.1:{port}", "--timeout", "60", timeout=60)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"cannot connect to 127.0.0.1:{port}" in lines[0] and "refused" in lines[0], lines[0]


def wait_for_text(path: Path, needle: str, count: int = 1, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while path.read_text().count(needle) < count:
        assert time.monotonic() < deadline, path.read_text()
        time.sleep(0.05)


def test_each_ring_is_one_line_and_count_counts_rings(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    device = DoorbellProcess(
        tmp_path / "device", "--broker", mosquitto.url, "--device-id", "wt",
        "--data-dir", str(data), "--speed", "1",
    )  # fmt: skip
    out, err = tmp_path / "watch.out", tmp_path / "watch.err"
    watcher = subprocess.Popen(
        [sys.executable, "-m", "device", "watch", "--broker", mosquitto.url, "--device-id", "wt",
         "--count", "2", "--timeout", "90"],
        stdout=out.open("w"), stderr=err.open("w"), stdin=subprocess.DEVNULL, env=dict(os.environ),
    )  # fmt: skip
    try:
        device.wait_for(DataDir(data).control_socket)
        wait_for_text(err, "watching doorbell/wt")
        first = doorbell("press", "--data-dir", str(data))
        assert first.returncode == 0, first.stderr
        wait_for_text(out, "RING")
        second = doorbell("press", "--data-dir", str(data))
        assert second.returncode == 0, second.stderr
        assert watcher.wait(60) == 0, err.read_text()
        rings = [line for line in out.read_text().splitlines() if "RING" in line]
        ids = [first.stdout.split()[-1], second.stdout.split()[-1]]
        assert len(rings) == 2, rings
        assert [ring.split()[-1] for ring in rings] == ids
        device.signal(signal.SIGTERM)
        assert device.wait() == 0
    finally:
        device.kill()
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
