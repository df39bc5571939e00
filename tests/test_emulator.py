"""The emulated `Doorbell` driven through the plugin's fixtures, against a real mosquitto."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from doorbell.config.camera import CameraConfig
from doorbell.device.emulation import Doorbell
from doorbell.device.emulation.camera import EmulatedCamera
from doorbell.device.emulation.pytest_plugin import MakeDoorbell
from doorbell.device.emulation.scenarios import load_scenario
from doorbell.device.runtime.frame import i420_of

ROOT = Path(__file__).resolve().parent.parent


def wall(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def visit_wall(bell: Doorbell) -> float:
    return bell.camera.start_wall + bell.visit()


def test_a_visit_raises_a_motion_alert_that_ends(doorbell: Doorbell) -> None:
    walks_up = visit_wall(doorbell)
    alert = doorbell.wait_for_event("motion", "start")
    assert alert.device == "emulated-1"
    assert walks_up <= wall(alert.start) <= walks_up + 9  # before the visitor is at the door
    end = doorbell.wait_for_event("motion", "end", timeout=60)
    assert end.id == alert.id and end.end is not None
    assert doorbell.counters().events == 1


def test_the_porch_light_going_off_is_no_alert(doorbell: Doorbell) -> None:
    doorbell.lights_off()
    walks_up = visit_wall(doorbell)
    # Events arrive in the order they were raised: one raised by the light would come first.
    first = doorbell.wait_for_event("motion", "start")
    assert wall(first.start) >= walks_up


def test_home_mode_mutes_motion_but_not_the_button(doorbell: Doorbell) -> None:
    doorbell.set_mode("home")
    doorbell.wait_for("mode", b"home")
    doorbell.wait_for_frame_time(doorbell.visit() + 9)  # the visitor stands at the door
    ring = doorbell.press()
    first = doorbell.wait_for_event(state="start")  # a motion alert would have come first
    assert (first.type, first.id) == ("ring", ring)


def test_alerts_raised_while_the_link_is_down_arrive_once_it_is_back(doorbell: Doorbell) -> None:
    doorbell.broker_outage(2.0)
    doorbell.wait_until(lambda: not doorbell.connected, 10, "disconnected")
    ring = doorbell.press()
    assert doorbell.counters().outbox_backlog >= 1  # kept on disk while the link is down
    delivered = doorbell.wait_for_event("ring", timeout=30)
    assert delivered.id == ring
    assert doorbell.connected


@pytest.mark.doorbell_scenario("walk_up_ring")
def test_the_marker_chooses_the_scenario(doorbell: Doorbell) -> None:
    alert = doorbell.wait_for_event("motion", "start")
    assert 5.0 <= wall(alert.start) - doorbell.camera.start_wall <= 12.0  # the script's visitor


@pytest.mark.doorbell_scenario("walk_up_ring")
def test_the_scenes_visitor_rings_the_doorbell(doorbell: Doorbell) -> None:
    ring = doorbell.wait_for_event("ring", timeout=60)
    (truth,) = doorbell.camera.scenario.truth.rings
    # The ring is the scene's, at the frame its ground truth names.
    assert abs(wall(ring.start) - doorbell.camera.start_wall - truth / doorbell.camera.fps) < 1.0


@pytest.mark.doorbell_config({"device": {"mode": "disarmed"}})
def test_the_config_marker_and_more_doorbells(make_doorbell: MakeDoorbell) -> None:
    front = make_doorbell()
    back = make_doorbell({"device": {"mode": "away"}}, device_id="back-door")
    back.visit()
    assert back.wait_for_event("motion").device == "back-door"
    assert front.counters().events == 0 and front.config.device.mode == "disarmed"


def test_a_visit_to_a_scene_that_repeats_is_refused() -> None:
    camera = EmulatedCamera("porch", CameraConfig())
    with pytest.raises(ValueError, match="repeats every 30 s"):
        camera.visit()


def test_a_visit_leaves_the_scenario_and_its_earlier_frames_alone() -> None:
    camera = EmulatedCamera("walk_up_ring", CameraConfig())
    camera.open()
    for _ in range(3):
        camera.read()
    starts = camera.visit(lead=0.2)  # from frame 6 on
    library = load_scenario("walk_up_ring")
    library.lores_size = camera.lores_size
    for seq in range(3, 9):
        frame = camera.read()
        assert frame is not None
        same = np.array_equal(frame.main, i420_of(library.render(seq)[0]))
        assert same == (seq / camera.fps < starts), seq
    assert [a.name for a in library.scene.actors] == ["visitor"]
    assert library.truth.alerts == load_scenario("walk_up_ring").truth.alerts


def test_the_readme_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- example: doorbell -->\s*```python\n(.*?)```", readme, re.S)
    assert found, "README has no doorbell example"
    script = tmp_path / "example.py"
    script.write_text(found.group(1))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "motion alert" in done.stdout
