"""The scenario engine: deterministic frames, consistent ground truth, effects that do what they
say, and the CLI that shows them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from doorbell.device.cli import cli
from doorbell.device.emulation.scenarios import Scenario, list_scenarios, load_scenario
from doorbell.device.emulation.scenarios.spec import Scene


def digest(name: str, seed: int | None, frames: range) -> str:
    s = load_scenario(name, seed)
    h = hashlib.sha256()
    for seq in frames:
        main, lores = s.render(seq)
        h.update(main.tobytes())
        h.update(lores.tobytes())
    return h.hexdigest()


def test_same_seed_same_frames_bit_for_bit_and_another_seed_differs() -> None:
    frames = range(100, 130)
    assert digest("walk_up_ring", None, frames) == digest("walk_up_ring", None, frames)
    assert digest("walk_up_ring", None, frames) != digest("walk_up_ring", 99, frames)


def test_library_covers_visits_and_false_alarms() -> None:
    kinds = {name: load_scenario(name).kind for name in list_scenarios()}
    assert sum(k == "visit" for k in kinds.values()) >= 5
    assert sum(k == "false_alarm" for k in kinds.values()) >= 10
    for name, kind in kinds.items():
        s = load_scenario(name)
        if kind == "visit":
            assert s.truth.alerts, name
        elif kind == "false_alarm":
            assert s.truth.alerts == [], name


def test_a_scene_that_says_its_visitor_rings_rings_while_the_visitor_is_at_the_door() -> None:
    for name in list_scenarios():
        s = load_scenario(name)
        truth = s.ground_truth(s.frame_count or round(90 * s.fps))
        says = " rings" in s.description
        assert bool(truth.rings) == says, name
        for ring in truth.rings:  # someone is in view to press it
            assert truth.frames[ring].actors, (name, ring)
        assert all(b - a > 1 for a, b in zip(truth.rings, truth.rings[1:], strict=False)), name


def test_ground_truth_boxes_lie_in_the_frame_and_follow_the_path() -> None:
    s = load_scenario("walk_past_path")
    centres = []
    for frame in s.truth.frames:
        for actor in frame.actors:
            x, y, w, h = actor.box
            assert x >= 0 and y >= 0 and x + w <= 1 + 1e-9 and y + h <= 1 + 1e-9
            centres.append((frame.seq, x + w / 2))
    assert len(centres) > 100
    xs = [c for _, c in centres]
    assert xs == sorted(xs)  # the walker crosses from left to right, as its path says
    alert = s.truth.alerts[0]
    assert alert.start_frame >= centres[0][0] and alert.end_frame <= centres[-1][0]


def test_an_actor_changes_the_pixels_inside_its_box() -> None:
    s = load_scenario("walk_up_ring")
    empty, _ = s.render(0)
    seq = s.truth.alerts[0].start_frame + 30
    busy, _ = s.render(seq)
    (actor,) = s.truth.frames[seq].actors
    x, y, w, h = actor.box
    inside = (
        slice(int(y * s.height), int((y + h) * s.height)),
        slice(int(x * s.width), int((x + w) * s.width)),
    )
    diff = np.abs(busy.astype(int) - empty.astype(int))
    assert diff[inside].mean() > 20
    outside = diff.copy()
    outside[inside] = 0
    assert outside.mean() < 5


def test_ir_switch_makes_the_picture_grey_and_brighter() -> None:
    s = load_scenario("ir_switch")
    before, _ = s.render(int(11.5 * s.fps))
    after, _ = s.render(int(13 * s.fps))
    b, g, r = (after[..., i].astype(int) for i in range(3))
    assert np.abs(b - g).max() <= 1 and np.abs(g - r).max() <= 1  # noise is per channel: +-1
    assert np.abs(before[..., 0].astype(int) - before[..., 2].astype(int)).mean() > 10
    assert after.mean() > before.mean() * 1.3


def test_porch_light_raises_mean_brightness_and_rain_adds_streaks() -> None:
    light = load_scenario("porch_light")
    off, _ = light.render(int(9 * light.fps))
    on, _ = light.render(int(11 * light.fps))
    assert on.mean() > off.mean() * 1.3
    rain = load_scenario("rain")
    dry = load_scenario("rain")
    dry.scene = dry.scene.model_copy(update={"effects": []})
    wet_frame, _ = rain.render(50)
    dry_frame, _ = dry.render(50)
    bright = (wet_frame.astype(int) - dry_frame.astype(int)).max(axis=2) > 60
    assert 200 < bright.sum() < wet_frame.shape[0] * wet_frame.shape[1] * 0.05


def test_rendering_a_frame_twice_gives_the_same_frame() -> None:
    s = load_scenario("headlights")
    a, la = s.render(77)
    b, lb = s.render(77)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert la.shape == (240, 320) and a.shape == (480, 640, 3)


def test_scenario_cli_list_truth_and_render(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["scenario", "list"])
    assert (
        listed.exit_code == 0 and "walk_up_ring" in listed.output and "false_alarm" in listed.output
    )
    truth = runner.invoke(cli, ["scenario", "truth", "package_drop"])
    doc = json.loads(truth.output)
    assert doc["alerts"][0]["name"] == "courier" and doc["frame_count"] == 35 * 15
    out = tmp_path / "s.mp4"
    rendered = runner.invoke(cli, ["scenario", "render", "walk_up_ring", "-o", str(out), "--boxes"])
    assert rendered.exit_code == 0, rendered.output
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in container.decode(video=0)) == 30 * 15
    unknown = runner.invoke(cli, ["scenario", "truth", "nope"])
    assert unknown.exit_code == 2 and "unknown scenario" in unknown.stderr


@pytest.mark.parametrize(
    "bad",
    [
        "duration: -1\n",
        "actors:\n  - {name: a, kind: ghost, path: [{t: 0, x: 0, y: 0, size: 1}]}\n",
    ],
)
def test_a_bad_scenario_file_is_one_clear_error(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nkind: visit\n" + bad)
    result = CliRunner().invoke(cli, ["analyze", f"synthetic:{path}"])
    assert result.exit_code == 2
    assert "invalid scenario" in result.stderr and result.stderr.count("\n") == 1


def test_render_boxes_an_endless_scene_and_bad_requests_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "porch.mp4"
    args = ["scenario", "render", "porch", "--duration", "12", "--boxes", "-o", str(out)]
    assert runner.invoke(cli, args).exit_code == 0
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(frames) == 12 * 15

    def yellow(image: np.ndarray) -> int:
        b, g, r = (image[..., i].astype(int) for i in range(3))
        return int(((b < 90) & (g > 200) & (r > 200)).sum())

    assert yellow(frames[0]) == 0  # nobody there yet: no box
    assert yellow(frames[11 * 15]) > 200  # the visitor, boxed
    truth = json.loads(
        runner.invoke(cli, ["scenario", "truth", "porch", "--duration", "65"]).output
    )
    assert truth["frame_count"] == 65 * 15 and len(truth["alerts"]) == 2
    for bad in (
        ["scenario", "render", "porch", "-o", str(out)],
        ["scenario", "truth", "porch"],
        ["scenario", "render", "rain", "-o", str(tmp_path / "no" / "dir.mp4")],
    ):
        result = runner.invoke(cli, bad)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, bad
        assert result.stderr.startswith("doorbell: "), bad


def test_a_scenario_over_a_background_image_next_to_it(tmp_path: Path) -> None:
    import cv2

    image = np.zeros((60, 80, 3), np.uint8)
    image[:, 40:] = (0, 0, 255)
    cv2.imwrite(str(tmp_path / "drive.png"), image)
    scene = tmp_path / "drive.yaml"
    scene.write_text(
        "name: drive\nkind: false_alarm\nduration: 1\nwidth: 160\nheight: 120\nnoise: 0\n"
        "background: drive.png\n"
    )
    main, lores = load_scenario(str(scene)).render(0)
    assert main.shape == (120, 160, 3) and lores.shape == (240, 320)
    assert main[60, 10].tolist() == [0, 0, 0] and main[60, 150].tolist() == [0, 0, 255]
    scene.write_text(scene.read_text().replace("drive.png", "missing.png"))
    result = CliRunner().invoke(cli, ["scenario", "truth", str(scene)])
    assert result.exit_code == 2 and "cannot read background image" in result.stderr


waypoint = st.tuples(
    st.floats(0.05, 0.95), st.floats(0.3, 1.0), st.floats(0.05, 0.6)
)  # x, y (feet), size


@settings(max_examples=40, deadline=None)
@given(points=st.lists(waypoint, min_size=1, max_size=4), kind=st.sampled_from(["person", "car"]))
def test_boxes_follow_any_path_and_stay_in_the_frame(
    points: list[tuple[float, float, float]], kind: str
) -> None:
    path = [{"t": 2.0 * i, "x": x, "y": y, "size": size} for i, (x, y, size) in enumerate(points)]
    scene = Scene.model_validate(
        {
            "name": "p",
            "kind": "visit",
            "duration": 2.0 * len(points),
            "fps": 5,
            "actors": [{"name": "a", "kind": kind, "path": path}],
        }
    )
    s = Scenario(scene)
    for i, (x, y, size) in enumerate(points):
        (actor,) = s.frame_truth(round(2.0 * i * s.fps)).actors
        bx, by, bw, bh = actor.box
        assert bx >= 0 and by >= 0 and bx + bw <= 1 + 1e-9 and by + bh <= 1 + 1e-9
        assert abs(by + bh - min(y, 1.0)) <= 2 / s.height  # feet where the path says
        if by > 0 and bx > 0 and bx + bw < 1:  # not cut by the frame's edge
            assert abs(bx + bw / 2 - x) <= 2 / s.width
            assert abs(bh - size) <= 2 / s.height
