"""No alert lost: broker outages, a power cut (SIGKILL) and repeated broker restarts, against a
real mosquitto, checked by a persistent-session QoS 1 subscriber."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from doorbell.uplink.requests.audit_head import AuditHead
from doorbell.uplink.uplink import Uplink
from tests.support.broker import MosquittoBroker
from tests.support.uplink_helpers import SessionSubscriber, event, uplink_config
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
EVENT_TOPIC = "doorbell/porch/event"


def test_outage_50_events_all_arrive_in_order(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    watcher = SessionSubscriber(mosquitto.port, [EVENT_TOPIC])
    config = uplink_config(mosquitto.port, tmp_path, outbox={"rate_per_second": 500})
    uplink = Uplink(config, tmp_path)
    uplink.start()
    try:
        assert wait_until(lambda: uplink.connected, 10)
        mosquitto.stop()
        assert wait_until(lambda: not uplink.connected, 10)
        for n in range(50):
            uplink.send_event(event(n))
        assert uplink.stats.backlog == 50  # on disk, waiting
        mosquitto.start()
        expected = [f"ev-{n:05d}" for n in range(50)]
        assert watcher.wait_for_count(50, 30), watcher.unique_ids()
        assert watcher.unique_ids() == expected
        assert wait_until(lambda: uplink.stats.backlog == 0, 10)
        assert uplink.stats.dropped == 0
    finally:
        uplink.stop(2.0)
        watcher.close()


def producer(port: int, data_dir: Path, first: int, count: int, then: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = [sys.executable, "-m", "tests.support.uplink_device_process"]
    args += [str(port), str(data_dir), str(first), str(count), then]
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)


def test_power_cut_sigkill_then_restart_delivers_everything(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    watcher = SessionSubscriber(mosquitto.port, [EVENT_TOPIC])
    data_dir = tmp_path / "data"
    mosquitto.stop()
    first = producer(mosquitto.port, data_dir, 0, 30, "hold")
    assert first.stdout is not None
    lines = [first.stdout.readline().strip() for _ in range(31)]
    assert lines[-2:] == ["added 29", "holding"], lines
    first.send_signal(signal.SIGKILL)  # the power cut: no clean shutdown of anything
    first.wait(10)
    mosquitto.start()
    second = producer(mosquitto.port, data_dir, 30, 10, "drain")
    out, _ = second.communicate(timeout=40)
    assert second.returncode == 0, out
    assert "drained backlog=0" in out
    assert watcher.wait_for_count(40, 20), watcher.unique_ids()
    assert watcher.unique_ids() == [f"ev-{n:05d}" for n in range(40)]
    watcher.close()


def test_broker_restarting_every_few_seconds_loses_nothing(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    watcher = SessionSubscriber(mosquitto.port, [EVENT_TOPIC])
    config = uplink_config(mosquitto.port, tmp_path, outbox={"rate_per_second": 1000})
    uplink = Uplink(config, tmp_path)
    uplink.start()
    stop = threading.Event()

    def restarts() -> None:
        while not stop.wait(1.5):
            mosquitto.restart()

    chaos = threading.Thread(target=restarts)
    total = 200
    try:
        assert wait_until(lambda: uplink.connected, 10)
        chaos.start()
        for n in range(total):
            uplink.send_event(event(n))
            time.sleep(0.03)  # ~6 s of events across about four restarts
        stop.set()
        chaos.join()
        assert watcher.wait_for_count(total, 40), len(watcher.unique_ids())
        assert watcher.unique_ids() == [f"ev-{n:05d}" for n in range(total)]
        assert wait_until(lambda: uplink.stats.backlog == 0, 10)
    finally:
        stop.set()
        uplink.stop(2.0)
        watcher.close()


def test_mqtt_311_by_option_and_mqtt5_properties_by_default(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    watcher = SessionSubscriber(mosquitto.port, [EVENT_TOPIC], "v-watcher")
    old = uplink_config(mosquitto.port, tmp_path / "a", mqtt={"protocol": "3.1.1"})
    new = uplink_config(mosquitto.port, tmp_path / "b")
    uplinks = [Uplink(old, tmp_path / "a"), Uplink(new, tmp_path / "b")]
    uplinks[1].config.device.id = "porch2"  # one connection per client id
    try:
        for n, uplink in enumerate(uplinks):
            uplink.start()
            assert wait_until(lambda u=uplink: u.connected, 10)  # type: ignore[misc]
            uplink.send_event(event(n))
            assert watcher.wait_for_count(n + 1, 10)
        assert watcher.unique_ids() == ["ev-00000", "ev-00001"]
        assert uplinks[0].link is not None and uplinks[0].link.protocol == "3.1.1"
        assert "ContentType" not in watcher.properties[0]
        v5 = watcher.properties[1]
        assert v5["ContentType"] == "application/json"
        assert 0 < v5["MessageExpiryInterval"] <= 168 * 3600
    finally:
        for uplink in uplinks:
            uplink.stop(2.0)
        watcher.close()


def test_backlog_at_start_is_replayed_at_the_configured_rate(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    watcher = SessionSubscriber(mosquitto.port, [EVENT_TOPIC], "rate-watcher")
    config = uplink_config(mosquitto.port, tmp_path, outbox={"rate_per_second": 20})
    first = Uplink(config, tmp_path)  # never started: as if the broker had been away all along
    for n in range(30):
        first.send_event(event(n))
    second = Uplink(config, tmp_path)
    assert second.stats.backlog == 30
    began = time.monotonic()
    second.start()
    try:
        assert watcher.wait_for_count(30, 20)
        took = time.monotonic() - began
        assert watcher.unique_ids() == [f"ev-{n:05d}" for n in range(30)]
        assert took >= 29 / 20 * 0.9, took  # 30 rows at 20/s: at least ~1.4 s, not a burst
        assert wait_until(lambda: second.stats.backlog == 0, 5)
    finally:
        second.stop(2.0)
        watcher.close()


def test_every_retained_state_is_published_again_after_the_broker_forgot_it(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """A broker restarted without its persistence file has no retained messages left: mode,
    motion, motion settings, snapshot and the audit head come back when the device reconnects
    (Home Assistant's mode select would otherwise show unknown)."""
    config = uplink_config(mosquitto.port, tmp_path / "d")
    uplink = Uplink(config, tmp_path / "d")
    uplink.start()
    try:
        assert uplink.link is not None and uplink.link.connected.wait(10)
        uplink.publish_mode("home")
        uplink.set_motion(False)
        uplink.publish_motion_settings({"threshold": 30})
        uplink.publish_audit_head(AuditHead(7, "ab" * 32, "cd" * 32))
        uplink.publish_audit_alert(
            {"seq": 8, "at": "t", "hash": "ef" * 32, "data": {"reason": "cut", "found": None}}
        )
        mosquitto.stop()
        for stored in mosquitto.workdir.glob("*.db"):
            stored.unlink()  # the broker comes back knowing nothing
        mosquitto.start()
        wanted = {
            "doorbell/porch/mode": b"home",
            "doorbell/porch/motion": b"OFF",
            "doorbell/porch/settings/motion": b'{"threshold": 30}',
            "doorbell/porch/audit/head": b'{"seq": 7, "hash": "%s", "prev": "%s"}'
            % (b"ab" * 32, b"cd" * 32),
            "doorbell/porch/audit/alert": b'{"seq": 8, "at": "t", "hash": "%s", "reason": "cut", '
            b'"found": null}' % (b"ef" * 32),
        }
        # A new client sees only what is retained on the broker now.
        watcher = SessionSubscriber(mosquitto.port, list(wanted), "fresh-ha")
        try:
            assert watcher.wait_for_messages(len(wanted), 20), watcher.payloads
            assert dict(watcher.payloads) == wanted
        finally:
            watcher.close()
    finally:
        uplink.stop(2)
