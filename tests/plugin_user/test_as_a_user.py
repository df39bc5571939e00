"""The plugin as another project uses it: a test suite of its own, in a folder of its own, with no
conftest, that gets `mqtt_broker`, `doorbell` and the markers through the `pytest11` entry point
declared in setup.cfg, in a separate pytest process."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

USER_TESTS = """
import json

import paho.mqtt.client as mqtt
import pytest


def test_my_alert_service_hears_a_visit(doorbell, mqtt_broker):
    heard = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, m: heard.append(json.loads(m.payload))
    client.connect("127.0.0.1", mqtt_broker.port)
    client.subscribe("doorbell/+/event", qos=1)
    client.loop_start()
    doorbell.visit()
    alert = doorbell.wait_for_event("motion", "start")
    doorbell.wait_for_event("motion", "end", timeout=60)
    client.loop_stop()
    assert alert.id in [m["id"] for m in heard]


@pytest.mark.doorbell_scenario("walk_up_ring")
def test_a_scripted_visit(doorbell):
    assert doorbell.wait_for_event("motion").type == "motion"


def test_the_button(doorbell):
    ring = doorbell.press()
    assert doorbell.wait_for_event("ring").id == ring
"""


def installed_entry_points(site: Path) -> None:
    """What `pip install` makes of setup.cfg's entry points, for a package on PYTHONPATH: a
    dist-info whose entry_points.txt holds the `pytest11` section as declared."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    declared = cfg["options.entry_points"]["pytest11"].strip()
    dist = site / "doorbell_plugin_under_test-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: doorbell-plugin-under-test\n")
    (dist / "entry_points.txt").write_text(f"[pytest11]\n{declared}\n")


def test_another_project_uses_the_plugin_through_its_entry_point(tmp_path: Path) -> None:
    site, project = tmp_path / "site", tmp_path / "project"
    installed_entry_points(site)
    project.mkdir()
    (project / "test_with_doorbells.py").write_text(USER_TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_with_doorbells.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=240,
        env={"PYTHONPATH": f"{ROOT}:{site}", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout
