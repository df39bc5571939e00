"""`motion:` settings: zone polygons and bounds are config errors naming their key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from doorbell.config import ConfigError, load_config
from doorbell.config.motion import MotionConfig

GOOD_ZONE = "    - name: path\n      points: [[0.3, 0.5], [0.7, 0.5], [0.7, 1.0], [0.3, 1.0]]\n"


def errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "doorbell.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    return caught.value.lines


@pytest.mark.parametrize(
    ("points", "needle"),
    [
        ("[[0.1, 0.1], [0.9, 0.1]]", "at least 3 points"),
        ("[[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]]", "less than or equal to 1"),
        ("[[0.1, -0.2], [0.9, 0.1], [0.5, 0.9]]", "greater than or equal to 0"),
        ("[[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.7]]", "self-intersecting"),
        ("[[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]", "self-intersecting"),  # no area too
        ("[[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]]", "no area"),
        ("[[0.1, 0.1], [0.5], [0.9, 0.9]]", "motion.zones.1.points.1"),
        ("0.5", "valid list"),
    ],
    ids=[
        "too-few",
        "x-above-1",
        "y-below-0",
        "self-intersecting",
        "symmetric-bow-tie",
        "zero-area",
        "not-a-point",
        "not-a-list",
    ],
)
def test_a_bad_zone_is_an_error_with_its_key_and_line(
    tmp_path: Path, points: str, needle: str
) -> None:
    # the bad zone is the second one, on lines 5-6; its points are on line 6
    lines = errors(
        tmp_path, f"motion:\n  zones:\n{GOOD_ZONE}    - name: porch\n      points: {points}\n"
    )
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{tmp_path / 'doorbell.yaml'}:6: motion.zones.1.points"), lines
    assert needle in lines[0], lines


def test_a_zone_without_a_name_is_an_error_on_its_line(tmp_path: Path) -> None:
    lines = errors(
        tmp_path, "motion:\n  zones:\n    - points: [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]\n"
    )
    assert len(lines) == 1 and ":3: motion.zones.0.name" in lines[0], lines


def test_points_in_block_style_name_the_line_of_the_bad_point(tmp_path: Path) -> None:
    text = "motion:\n  zones:\n    - name: porch\n      points:\n        - [0.1, 0.1]\n"
    text += "        - [0.5, 1.2]\n        - [0.9, 0.3]\n"
    lines = errors(tmp_path, text)
    assert len(lines) == 1 and ":6: motion.zones.0.points.1.1" in lines[0], lines


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("threshold: 0", "motion.threshold"),
        ("blur: 4", "motion.blur"),
        ("min_area: 0", "motion.min_area"),
        ("noise_k: 50", "motion.noise_k"),
        ("settle_seconds: -1", "motion.settle_seconds"),
        ("lighting_block: 2", "motion.lighting_block"),
    ],
)
def test_settings_out_of_bounds_are_errors_on_their_line(
    tmp_path: Path, setting: str, key: str
) -> None:
    lines = errors(tmp_path, f"camera:\n  fps: 15\nmotion:\n  min_frames: 3\n  {setting}\n")
    assert len(lines) == 1 and f":5: {key}" in lines[0], lines


def test_the_threshold_range_must_not_be_upside_down(tmp_path: Path) -> None:
    lines = errors(tmp_path, "motion:\n  threshold: 40\n  threshold_max: 30\n")
    assert len(lines) == 1 and ":1: motion" in lines[0] and "threshold_max" in lines[0], lines


def test_good_zones_load() -> None:
    cfg = MotionConfig.model_validate(
        {"zones": [{"name": "path", "points": [[0.3, 0.5], [0.7, 0.5], [0.7, 1.0], [0.3, 1.0]]}]}
    )
    assert [z.name for z in cfg.zones] == ["path"]
