"""Fleets of emulated doorbells on a real mosquitto: every alert delivered, ids exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from doorbell.device.emulation.emulator import emulated_config
from doorbell.device.emulation.fleet_run import FleetPlan, run_fleet
from doorbell.device.emulation.mosquitto import MosquittoBroker
from doorbell.device.emulation.shared_scene import SharedScene
from tests.support.subscriber import Subscriber

ROOT = Path(__file__).resolve().parent.parent


def expected_starts(scene: SharedScene, devices: int, duration: float) -> int:
    """Visits the schedule holds: device i starts i * period / devices s in, then loops."""
    starts = [m.t for m in scene.moments for kind, _, _ in m.updates if kind == "start"]
    total = 0
    for i in range(devices):
        offset, loop = i * scene.period / devices, 0
        while offset + loop * scene.period < duration:
            total += sum(offset + loop * scene.period + t < duration for t in starts)
            loop += 1
    return total


def test_a_fleet_of_50_for_60_simulated_seconds_delivers_every_alert_once(
    mqtt_broker: MosquittoBroker, tmp_path: Path
) -> None:
    watcher = Subscriber(mqtt_broker.port, ["doorbell/+/event"])
    config = emulated_config({}, port=mqtt_broker.port)
    plan = FleetPlan(devices=50, duration=60.0, speed=10.0, root=tmp_path / "fleet")
    lines: list[str] = []
    summary = run_fleet(config, plan, lines.append)
    assert summary["errors"] == [] and summary["connected"] == 50

    scene = SharedScene("walk_up_ring", config.motion, config.camera, 1.0)
    visits = expected_starts(scene, 50, 60.0)
    assert visits > 50  # most devices see the visit twice in 60 s
    assert watcher.wait_for(lambda ms: len({m.payload for m in ms}) >= 2 * visits, 30)
    bodies = [json.loads(m.payload) for m in watcher.messages]
    unique = {(b["id"], b["state"]): b for b in bodies}  # de-duplicated by (id, state)
    states = Counter(state for _, state in unique)
    assert states == {"start": visits, "end": visits}  # every alert started and ended
    ids = Counter(alert_id for alert_id, _ in unique)
    assert set(ids.values()) == {2}  # each id exactly once per state
    devices = {b["device"] for b in unique.values()}
    assert len(devices) == 50 and all(d.startswith("fleet-") for d in devices)
    assert summary["alerts_delivered"] == summary["alerts_raised"] == 2 * visits
    assert summary["missing"] == 0 and summary["record_mode"] == "off"
    assert any("record.mode: off" in line for line in lines)
    assert any(line.startswith("[") and "acked" in line for line in lines)  # per-second lines
    watcher.close()


def fleet_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "doorbell.device", "fleet", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_the_fleet_command_prints_seconds_and_writes_a_summary(
    mqtt_broker: MosquittoBroker, tmp_path: Path
) -> None:
    out = tmp_path / "summary.json"
    done = fleet_cli(
        "--devices",
        "3",
        "--broker",
        mqtt_broker.url,
        "--scenario",
        "walk_up_ring",
        "--duration",
        "35",
        "--speed",
        "20",
        "--summary-json",
        str(out),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(out.read_text())
    assert summary["devices"] == 3 and summary["missing"] == 0 and summary["errors"] == []
    assert summary["alerts_delivered"] == summary["alerts_raised"] > 0
    assert "record.mode: off" in done.stdout and "latency p50" in done.stdout


def test_bad_fleet_input_is_one_line_and_exit_2(mqtt_broker: MosquittoBroker) -> None:
    unknown = fleet_cli("--broker", mqtt_broker.url, "--scenario", "nope")
    assert unknown.returncode == 2
    assert len(unknown.stderr.strip().splitlines()) == 1, unknown.stderr
    assert "unknown scenario 'nope'" in unknown.stderr
    too_many = fleet_cli("--broker", mqtt_broker.url, "--devices", "301")
    assert too_many.returncode == 2 and "at most 300 devices in one process" in too_many.stderr
    embedded = fleet_cli("--broker", "embedded")
    assert embedded.returncode == 2 and "Traceback" not in embedded.stderr
    assert "a fleet needs a broker" in embedded.stderr
