"""Delivery through outages, power cuts and broker restarts, against a real mosquitto."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import MosquittoBroker
from tests.support.session_subscriber import SessionSubscriber
from tests.support.uplink_producer import config, event
from uplink.uplink import Uplink

EVENT = "doorbell/porch/event"


def wait_until(predicate: object, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def session(mosquitto: MosquittoBroker) -> Iterator[SessionSubscriber]:
    sub = SessionSubscriber(mosquitto.port, [EVENT], client_id="resident-phone")
    yield sub
    sub.close()


def test_outage_delivers_every_event_in_order(
    mosquitto: MosquittoBroker, session: SessionSubscriber, tmp_path: Path
) -> None:
    uplink = Uplink(config(mosquitto.port, tmp_path), tmp_path)
    uplink.start()
    try:
        assert wait_until(lambda: uplink.connected)
        mosquitto.stop()
        assert wait_until(lambda: not uplink.connected)
        ids = [f"ev-{i:05d}" for i in range(50)]
        for event_id in ids:
            uplink.send_event(event(event_id))
        assert uplink.stats.backlog == 50  # on disk while the broker is away
        mosquitto.start()
        assert session.wait_ids(50) == ids
        assert wait_until(lambda: uplink.stats.backlog == 0)
        assert uplink.stats.sent == 50
    finally:
        uplink.stop(2)


def test_power_cut_loses_nothing(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    data_dir = tmp_path / "device"
    mosquitto.stop()
    args = [sys.executable, "-m", "tests.support.uplink_producer", str(mosquitto.port)]
    first = subprocess.Popen([*args, str(data_dir), "30", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "persisted 30"
    finally:
        first.send_signal(signal.SIGKILL)  # the power cut: no chance to flush anything
        first.wait(10)
    mosquitto.start()
    sub = SessionSubscriber(mosquitto.port, [EVENT], client_id="phone-after-cut")
    try:
        second = subprocess.run(
            [*args, str(data_dir), "5", "30", "--drain"],
            capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
        assert second.returncode == 0, second.stderr
        assert "backlog 0" in second.stdout
        assert sub.wait_ids(35) == [f"ev-{i:05d}" for i in range(35)]
    finally:
        sub.close()


def test_broker_restarts_during_a_run_lose_nothing(
    mosquitto: MosquittoBroker, session: SessionSubscriber, tmp_path: Path
) -> None:
    uplink = Uplink(config(mosquitto.port, tmp_path), tmp_path)
    uplink.start()
    done = threading.Event()
    restarts: list[float] = []

    def restart_broker() -> None:
        while not done.wait(1.5):
            mosquitto.restart()
            restarts.append(time.monotonic())

    restarter = threading.Thread(target=restart_broker)
    try:
        assert wait_until(lambda: uplink.connected)
        restarter.start()
        ids = [f"ev-{i:05d}" for i in range(200)]
        for event_id in ids:  # ~6 s of events across ~4 restarts
            uplink.send_event(event(event_id))
            time.sleep(0.03)
        done.set()
        restarter.join()
        assert len(restarts) >= 3
        assert session.wait_ids(200, timeout=60) == ids
        assert wait_until(lambda: uplink.stats.backlog == 0)
    finally:
        done.set()
        uplink.stop(2)
