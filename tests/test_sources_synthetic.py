"""The scripted scene generator as a camera: frame clock, sizes from the config, the endless
default porch, looping, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from doorbell.config.camera import CameraConfig, FaultsConfig
from doorbell.device.emulation.scenarios import Scenario, load_scenario
from doorbell.device.emulation.synthetic_source import SyntheticSource
from doorbell.device.sources import SourceError, open_source
from doorbell.device.sources.faults import FaultySource


def test_frame_clock_is_seq_over_fps_from_a_start_wall_reset_before_the_first_read() -> None:
    source = open_source(CameraConfig(source="synthetic:walk_up_ring"), start_wall=1.0)
    assert isinstance(source, SyntheticSource) and source.live is False
    source.open()
    source.start_wall = 5000.0  # the runtime pins t = 0 just before reading
    frames = [source.read() for _ in range(3)]
    assert [f.seq for f in frames if f] == [0, 1, 2]
    assert [f.t for f in frames if f] == [0.0, 1 / 15, 2 / 15]
    assert [f.wall for f in frames if f] == [5000.0, 5000.0 + 1 / 15, 5000.0 + 2 / 15]
    first = frames[0]
    assert (
        first is not None and first.main.shape == (720, 640) and first.main.dtype == np.uint8
    )  # I420
    assert first.lores.shape == (240, 320) and first.lores.dtype == np.uint8


def test_camera_sizes_and_frame_rate_override_the_scenario() -> None:
    camera = CameraConfig(
        source="synthetic:package_drop",
        width=1280,
        height=720,
        fps=10,
        lores_width=160,
        lores_height=120,
    )
    source = open_source(camera, start_wall=0.0)
    source.open()
    assert (source.width, source.height, source.fps) == (1280, 720, 10)
    assert source.frame_count == 35 * 10  # type: ignore[attr-defined]
    frame = source.read()
    assert frame is not None
    assert frame.main.shape == (1080, 1280) and frame.lores.shape == (120, 160)
    # Ground truth is normalised, so it holds at any size: the courier is still found.
    truth = source.scenario.truth  # type: ignore[attr-defined]
    assert truth.alerts and truth.alerts[0].name == "courier"


def test_a_named_scenario_ends_after_its_duration_unless_it_loops() -> None:
    once = open_source(CameraConfig(source="synthetic:rain", fps=2), start_wall=0.0)
    once.open()
    frames = []
    while (frame := once.read()) is not None:
        frames.append(frame)
    assert len(frames) == 25 * 2
    looping = open_source(CameraConfig(source="synthetic:rain", fps=2, loop=True), start_wall=0)
    looping.open()
    frames = [looping.read() for _ in range(25 * 2 + 1)]
    last = frames[-1]
    assert last is not None and last.seq == 50 and last.t == 25.0  # the clock keeps going
    assert frames[0] is not None and np.array_equal(last.main, frames[0].main)  # the scene restarts


def test_the_default_porch_is_endless_with_a_visit_every_30_s_from_about_10_s() -> None:
    source = open_source(CameraConfig(), start_wall=0.0)
    assert isinstance(source, SyntheticSource) and source.scenario.name == "porch"
    assert source.frame_count is None
    # The same scene cut to 100 s has ground truth: a visit at ~10 s, then every 30 s.
    scene = source.scenario.scene.model_copy(update={"duration": 100.0})
    alerts = Scenario(scene).truth.alerts
    starts = [a.start_frame / 15 for a in alerts]
    assert len(starts) == 4 and 8.0 <= starts[0] <= 12.0
    assert np.allclose(np.diff(starts), 30.0, atol=0.2)
    slow = open_source(CameraConfig(fps=1.0), start_wall=0.0)  # far past 40 s, cheaply
    slow.open()
    for _ in range(200):
        assert slow.read() is not None


def test_a_scenario_file_and_unknown_names_as_a_camera(tmp_path: Path) -> None:
    scene = tmp_path / "mine.yaml"
    scene.write_text(
        "name: mine\nkind: visit\nduration: 2\nfps: 5\nwidth: 160\nheight: 120\n"
        "actors:\n  - {name: v, kind: person, alert: true, path: [{t: 0, x: 0.5, y: 0.9, "
        "size: 0.5}]}\n"
    )
    source = open_source(CameraConfig(source=f"synthetic:{scene}"), start_wall=0.0)
    source.open()
    frame = source.read()
    assert frame is not None and frame.main.shape == (180, 160)
    with pytest.raises(SourceError, match="unknown scenario 'nope'"):
        open_source(CameraConfig(source="synthetic:nope"))
    with pytest.raises(SourceError, match="cannot read scenario"):
        open_source(CameraConfig(source=f"synthetic:{tmp_path / 'missing.yaml'}"))


def test_a_faulty_wrapper_reports_the_inner_source_shape_and_clock() -> None:
    camera = CameraConfig(
        source="synthetic:rain", width=320, height=240, faults=FaultsConfig(drop_percent=10)
    )
    source = open_source(camera, start_wall=0.0)
    assert isinstance(source, FaultySource)
    assert (source.width, source.height, source.fps, source.live) == (320, 240, 15.0, False)
    assert source.lores_size == (320, 240)
    source.open()
    source.start_wall = 77.0
    frame = source.read()
    assert frame is not None and frame.wall == 77.0 + frame.t
    assert source.start_wall == 77.0 and load_scenario("rain").frame_count == 375
