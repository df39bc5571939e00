"""`--broker embedded` (the quick start's broker): one account made on first start and shown
once, no anonymous clients, the owner's tools read the account from the data dir, and a port
already taken by another program stops the device with one line."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from tests.support.broker import free_port
from tests.support.process import DoorbellProcess, doorbell


def embedded(data: Path, port: int) -> list[str]:
    return [
        "--data-dir",
        str(data),
        "--device-id",
        "emb",
        "--camera",
        "synthetic",
        "--set",
        "mqtt.host=127.0.0.1",
        "--set",
        f"mqtt.port={port}",
        "--set",
        "mqtt.embedded=true",
    ]


def connack(port: int, user: str | None = None, password: str | None = None) -> Any:
    got: dict[str, Any] = {}
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)  # 3.1.1, as amqtt speaks
    if user:
        client.username_pw_set(user, password)

    def on_connect(c: mqtt.Client, u: Any, f: Any, reason: Any, p: Any) -> None:
        got["reason"] = reason
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert done.wait(10)
    client.disconnect()
    client.loop_stop()
    return got["reason"]


def test_the_embedded_broker_takes_only_its_own_account(tmp_path: Path) -> None:
    port, data = free_port(), tmp_path / "data"
    dev = DoorbellProcess(tmp_path / "p", *embedded(data, port), "--speed", "1", "--loop")
    try:
        dev.wait_output("embedded broker on", stream="stdout")
        login_file = data / "broker-login.json"
        assert stat.S_IMODE(login_file.stat().st_mode) == 0o600
        login = json.loads(login_file.read_text())
        assert login["password"] in dev.stdout and login["password"] not in dev.stderr
        assert connack(port).is_failure  # anonymous
        assert connack(port, "doorbell", "guess").is_failure
        assert not connack(port, login["username"], login["password"]).is_failure

        # The owner's tools on this machine find the account in the data dir.
        dev.wait_for(data / "control.sock")
        watcher = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "device",
                "watch",
                *embedded(data, port),
                "--count",
                "1",
                "--timeout",
                "60",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert watcher.stderr is not None
        assert "watching" in watcher.stderr.readline()  # subscribed: now ring
        assert doorbell("press", "--data-dir", str(data)).returncode == 0
        out, err = watcher.communicate(timeout=60)
        assert watcher.returncode == 0, err
        assert "RING" in out.upper()

        # A second device on the same port: its broker cannot start there; one line, exit 2.
        second = doorbell("run", *embedded(tmp_path / "other", port), "--duration", "5")
        assert second.returncode == 2
        assert second.stderr.strip().count("\n") == 0 and "is taken" in second.stderr
    finally:
        dev.signal(signal.SIGTERM)
        dev.wait()
        dev.kill()
    # A restart keeps the account and does not show it again.
    again = doorbell("run", *embedded(data, port), "--duration", "2", "--speed", "max")
    assert again.returncode == 0, again.stderr
    assert "embedded broker on" not in again.stdout
