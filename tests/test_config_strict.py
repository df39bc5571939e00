"""Strict config types: a boolean is not a number, text is not an integer; text still loads where
text is what the setting is (paths, modes, hosts, sources), and numbers typed on the command line
or in the environment are numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from doorbell.config import ConfigError, load_config
from doorbell.config.motion import MotionConfig
from doorbell.device.cli import cli


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doorbell.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ("motion:\n  threshold: true\n", 2, "motion.threshold"),
        ("record:\n  mode: events\n  pre_seconds: true\n", 3, "record.pre_seconds"),
        ("motion:\n  min_frames: '3'\n", 2, "motion.min_frames"),
        ('mqtt:\n  port: "1883"\n', 2, "mqtt.port"),
        ("camera:\n  fps: false\n", 2, "camera.fps"),
        (
            "privacy:\n  masks:\n    - name: m\n      points: [[true, 0], [1, 0], [1, 1]]\n",
            4,
            "privacy.masks.0.points.0.0",
        ),
    ],
    ids=["bool-int", "bool-float", "text-int", "text-port", "bool-optional", "bool-coordinate"],
)
def test_a_wrong_type_is_one_line_naming_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str
) -> None:
    path = write(tmp_path, text)
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:{line}: {key}: Input should be a valid "), lines[0]


def test_text_settings_still_load_from_yaml_env_and_flags(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"device:\n  data_dir: {tmp_path / 'data'}\n  mode: home\n"
        "record:\n  mode: off\n  pre_seconds: 2\n"  # an integer is a fine number of seconds
        f"mqtt:\n  host: broker.example\n  ca_file: {tmp_path / 'ca.pem'}\n  tls: yes\n"
        "camera:\n  source: 'file:/videos/porch.mp4'\n  speed: max\n"
        "privacy:\n  masks:\n    - name: street\n      points: [[0, 0], [1, 0], [1, 0.5]]\n",
    )
    (tmp_path / "ca.pem").write_text("not checked here\n")
    environ = {"DOORBELL__UPLINK__BASE_TOPIC": "home/{device_id}", "DOORBELL__MOTION__BLUR": "7"}
    loaded = load_config(path, ["motion.threshold=30", "mqtt.port=8883"], environ=environ)
    config = loaded.config
    assert config.device.data_dir == tmp_path / "data"
    assert config.record.mode == "off" and config.record.pre_seconds == 2.0
    assert config.mqtt.ca_file == tmp_path / "ca.pem" and config.mqtt.tls is True
    assert config.camera.speed == "max"
    assert config.privacy.masks[0].points[2] == (1.0, 0.5)
    assert config.uplink.base_topic == "home/{device_id}"
    # numbers typed as text on the command line and in the environment are numbers
    assert (config.motion.threshold, config.mqtt.port, config.motion.blur) == (30, 8883, 7)


def test_a_boolean_from_a_flag_is_still_not_a_number() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, ["motion.threshold=true"], environ={})
    assert caught.value.lines == [
        "--set motion.threshold: motion.threshold: Input should be a valid integer"
        " (allowed: integer >= 1 and <= 255)"
    ]


@pytest.mark.parametrize(
    "changes",
    [{"threshold": True}, {"min_frames": "3"}, {"event_gap": False}, {"min_area": "0.5"}],
)
def test_a_motion_command_merged_into_the_settings_is_strict(changes: dict[str, object]) -> None:
    """The device merges a `motion` command (MQTT or control socket) into MotionConfig."""
    merged = MotionConfig().model_dump() | changes
    with pytest.raises(ValidationError):
        MotionConfig.model_validate(merged)


def test_a_good_motion_command_merges_with_zones_from_json() -> None:
    zone = {"name": "path", "points": [[0, 0], [1, 0], [1, 1]]}  # lists, as JSON gives them
    running = MotionConfig.model_validate({"zones": [zone]})
    merged = running.model_dump() | {"threshold": 40, "min_area": 2}
    assert MotionConfig.model_validate(merged).threshold == 40
