"""One device per data directory: a second `doorbell run` on it exits 2 naming the PID that holds
it; the lock goes with the process that held it, however it ended."""

from __future__ import annotations

import signal
from pathlib import Path

from doorbell.config.data_dir import DataDir
from tests.support.broker import MosquittoBroker
from tests.support.process import DoorbellProcess, doorbell


def run_args(broker: MosquittoBroker, data: Path, device_id: str) -> list[str]:
    return ["--broker", broker.url, "--device-id", device_id, "--data-dir", str(data)]


def test_a_second_device_on_the_same_data_dir_exits_2_naming_the_first(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = DoorbellProcess(tmp_path / "p1", *run_args(mosquitto, data, "one"), "--speed", "1")
    try:
        first.wait_for(DataDir(data).control_socket)
        second = doorbell("run", *run_args(mosquitto, data, "two"), "--duration", "1", timeout=60)
        assert second.returncode == 2, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert f"{data} is in use by another doorbell (PID {first.proc.pid})" in lines[0]
        # another data dir is another device
        other = doorbell(
            "run",
            *run_args(mosquitto, tmp_path / "other", "three"),
            "--duration",
            "0.5",
            "--speed",
            "max",
            timeout=120,
        )
        assert other.returncode == 0, other.stderr
        first.signal(signal.SIGKILL)  # the kernel drops the lock with the process
        first.wait()
        again = doorbell(
            "run",
            *run_args(mosquitto, data, "one"),
            "--duration",
            "0.5",
            "--speed",
            "max",
            timeout=120,
        )
        assert again.returncode == 0, again.stderr
    finally:
        first.kill()
