"""Config: each error kind names its line and exits 2; precedence default < file < env < flag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from doorbell.config import ConfigError, DoorbellConfig, load_config
from doorbell.config.live import LIVE_SECTIONS, RESTART_SECTIONS, merge_reload
from doorbell.config.motion import MotionConfig
from doorbell.device.cli import cli

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "doorbell.example.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doorbell.yaml"
    path.write_text(text)
    return path


def check(path: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    return result.exit_code, result.stderr.splitlines()


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        (
            "motion:\n  threshhold: 30\n",
            2,
            "motion.threshhold: unknown key; did you mean 'threshold'?",
        ),
        ("motion:\n  threshold: lots\n", 2, "motion.threshold: Input should be a valid integer"),
        ("camera:\n  fps: 15\nmotion:\n  threshold: 300\n", 4, "motion.threshold: Input should be"),
        ("record:\n  mode: sometimes\n", 2, "allowed: one of: events, continuous, off"),
        ("motion:\n  threshold: [1,\n", 3, "(yaml): invalid YAML"),
        ("- just\n- a list\n", 1, "must be a mapping"),
    ],
    ids=["unknown-key", "wrong-type", "out-of-range", "bad-literal", "bad-yaml", "not-a-mapping"],
)
def test_each_error_kind_names_file_line_and_exits_2(
    tmp_path: Path, text: str, line: int, needle: str
) -> None:
    path = write(tmp_path, text)
    code, lines = check(path)
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:{line}: "), lines[0]
    assert needle in lines[0]


def test_out_of_range_says_what_is_allowed(tmp_path: Path) -> None:
    code, lines = check(write(tmp_path, "motion:\n  threshold: 0\n"))
    assert code == 2
    assert "(allowed: integer >= 1 and <= 255)" in lines[0]


def test_several_errors_one_line_each(tmp_path: Path) -> None:
    code, lines = check(write(tmp_path, "motion:\n  blur: 4\n  min_frames: 0\nmqtt:\n  port: 0\n"))
    assert code == 2
    assert [ln.split(": ")[1] for ln in lines] == ["motion.blur", "motion.min_frames", "mqtt.port"]


def test_bad_config_via_process_has_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "uplink:\n  outbox:\n    max_mesages: 5\n")
    proc = subprocess.run(
        [sys.executable, "-m", "doorbell.device", "config", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert (
        f"{path}:3: uplink.outbox.max_mesages: unknown key; did you mean 'max_messages'?"
        in proc.stderr
    )


def test_valid_file_exits_0(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["config", "check", str(write(tmp_path, "motion:\n  threshold: 30\n"))]
    )
    assert result.exit_code == 0, result.output


def test_example_config_is_valid_and_shows_every_key() -> None:
    loaded = load_config(EXAMPLE, environ={})
    assert loaded.config.motion.threshold >= 1

    def keys(model: object, prefix: str = "") -> set[str]:
        out: set[str] = set()
        for name in type(model).model_fields:  # type: ignore[attr-defined]
            value = getattr(model, name)
            if hasattr(type(value), "model_fields"):
                out |= keys(value, f"{prefix}{name}.")
            else:
                out.add(f"{prefix}{name}")
        return out

    text = EXAMPLE.read_text()
    documented = set()
    for dotted in keys(DoorbellConfig()):
        if f"{dotted.rsplit('.', 1)[-1]}:" in text:
            documented.add(dotted)
    assert documented == keys(DoorbellConfig())


@pytest.mark.parametrize(
    "text",
    ["motion:\n", "motion:\n# threshold: 30\nrecord:\n", "uplink:\n  commands:\n", "motion: ~\n"],
)
def test_an_empty_section_means_its_defaults(tmp_path: Path, text: str) -> None:
    # what a user gets by commenting out every key of a section (PyYAML read it back as `...`)
    path = write(tmp_path, text)
    code, lines = check(path)
    assert (code, lines) == (0, []), lines
    loaded = load_config(path, environ={"DOORBELL__MOTION__BLUR": "7"})
    assert loaded.config == DoorbellConfig(motion=MotionConfig(blur=7))
    assert loaded.origin_of(("motion", "threshold")).kind == "default"


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("0:\n", 1, "0: unknown key"),
        ("motion:\n  threshold:\n", 2, "motion.threshold: Input should be a valid integer"),
        ("? [a, b]\n: 1\n", 1, "['a', 'b']: unknown key"),
        ("? \n: 3\n", 1, "None: unknown key"),
    ],
)
def test_an_empty_value_or_odd_key_is_one_line(
    tmp_path: Path, text: str, line: int, needle: str
) -> None:
    path = write(tmp_path, text)
    code, lines = check(path)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:{line}: ") and needle in lines[0], lines


def test_precedence_default_file_env_flag(tmp_path: Path) -> None:
    path = write(tmp_path, "motion:\n  threshold: 30\n  min_frames: 4\n  blur: 7\n")
    env = {"DOORBELL__MOTION__THRESHOLD": "40", "DOORBELL__MOTION__MIN_FRAMES": "5"}
    loaded = load_config(path, sets=["motion.threshold=50"], environ=env)
    motion = loaded.config.motion
    assert (motion.threshold, motion.min_frames, motion.blur) == (50, 5, 7)
    assert motion.min_area == MotionConfig().min_area
    assert loaded.origin_of(("motion", "threshold")).kind == "flag"
    assert loaded.origin_of(("motion", "min_frames")).kind == "env"
    assert loaded.origin_of(("motion", "blur")).kind == "file"
    assert loaded.origin_of(("motion", "min_area")).kind == "default"


def test_off_is_a_word_not_false_and_booleans_still_read_yes_no(tmp_path: Path) -> None:
    # YAML 1.1 reads `off` as False, which would make `record.mode: off` an error.
    path = write(tmp_path, "record:\n  mode: off\nruntime:\n  watchdog: no\n")
    loaded = load_config(path, environ={"DOORBELL__BUTTON__BOUNCE_MS": "30"})
    assert loaded.config.record.mode == "off" and loaded.config.runtime.watchdog is False
    flagged = load_config(sets=["record.mode=off", "runtime.watchdog=yes"], environ={})
    assert flagged.config.record.mode == "off" and flagged.config.runtime.watchdog is True
    env = load_config(environ={"DOORBELL__RECORD__MODE": "off"})
    assert env.config.record.mode == "off"


def test_a_reload_applies_live_sections_and_names_the_rest() -> None:
    every = set(DoorbellConfig.model_fields)
    assert set(LIVE_SECTIONS) | set(RESTART_SECTIONS) == every  # no section silently ignored
    assert not set(LIVE_SECTIONS) & set(RESTART_SECTIONS)
    running = load_config(environ={}).config
    new = load_config(sets=["motion.threshold=40", "button.pin=17"], environ={}).config
    merged, restart = merge_reload(running, new)
    assert merged.motion.threshold == 40 and merged.button.pin is None
    assert restart == ["button"]
    # runtime: what is read when used applies, what is read at start is named
    new = load_config(
        sets=["runtime.stall_seconds=9", "runtime.record_queue=30", "runtime.log_level=DEBUG"],
        environ={},
    ).config
    merged, restart = merge_reload(running, new)
    assert merged.runtime.stall_seconds == 9
    assert (merged.runtime.record_queue, merged.runtime.log_level) == (15, "INFO")
    assert restart == ["runtime.log_level", "runtime.record_queue"]


def test_file_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "from-env.yaml"
    env_file.write_text("motion:\n  threshold: 11\n")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "doorbell.yaml").write_text("motion:\n  threshold: 12\n")
    assert load_config(environ={"DOORBELL_CONFIG": str(env_file)}).config.motion.threshold == 11
    assert load_config(environ={}).config.motion.threshold == 12
    explicit = write(tmp_path / "x", "") if False else tmp_path / "explicit.yaml"
    explicit.write_text("motion:\n  threshold: 13\n")
    assert (
        load_config(explicit, environ={"DOORBELL_CONFIG": str(env_file)}).config.motion.threshold
        == 13
    )


def test_env_error_names_the_variable() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(environ={"DOORBELL__MQTT__KEEPALIVE": "5"})
    assert err.value.lines == [
        "env DOORBELL__MQTT__KEEPALIVE: mqtt.keepalive: Input should be greater than or equal to 30"
        " (allowed: integer >= 30 and <= 1200)"
    ]


def test_show_marks_origins_and_redacts_secrets(tmp_path: Path) -> None:
    path = write(tmp_path, "mqtt:\n  password: hunter2\n  username: me\n")
    result = CliRunner().invoke(
        cli,
        [
            "config",
            "show",
            "--config",
            str(path),
            "--set",
            "motion.threshold=33",
            "--set",
            "mqtt.password=hunter3-from-a-flag",
            "--set",
            "mqtt.pasword=hunter4-misspelt",
            "--broker",
            "mqtt://127.0.0.1:1999",
        ],
        env={"DOORBELL__MOTION__BLUR": "9"},
    )
    assert result.exit_code == 2, result.output  # the misspelt key, said without its value
    assert "mqtt.pasword: unknown key" in result.output
    assert "hunter" not in result.output
    result = CliRunner().invoke(
        cli,
        [
            "config",
            "show",
            "--config",
            str(path),
            "--set",
            "motion.threshold=33",
            "--set",
            "mqtt.password=hunter3-from-a-flag",
            "--broker",
            "mqtt://127.0.0.1:1999",
        ],
        env={"DOORBELL__MOTION__BLUR": "9"},
    )
    assert result.exit_code == 0, result.output
    assert "hunter" not in result.output  # neither the file's password nor the flag's
    shown = yaml.safe_load(result.output)
    assert shown["mqtt"]["password"] == "**********"
    assert shown["mqtt"]["port"] == 1999
    lines = {ln.strip().split(":")[0]: ln for ln in result.output.splitlines()}
    assert lines["threshold"].endswith("# flag: --set motion.threshold")
    assert lines["blur"].endswith("# env: DOORBELL__MOTION__BLUR")
    assert lines["username"].endswith(f"# file: {path}:3")
    assert lines["min_area"].endswith("# default")


def test_bad_set_flag_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["config", "show", "--set", "motion.threshold"])
    assert result.exit_code == 2
    assert "expected KEY.PATH=VALUE" in result.stderr


@pytest.mark.parametrize(
    ("points", "needle"),
    [
        ("[[0.1, 0.1], [0.9, 0.1]]", "at least 3 points"),
        ("[[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]]", "less than or equal to 1"),
        ("[[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.8]]", "self-intersecting"),
    ],
    ids=["too-few-points", "outside-0-1", "self-intersecting"],
)
def test_bad_zone_polygon_is_a_config_error_with_its_line(
    tmp_path: Path, points: str, needle: str
) -> None:
    path = write(tmp_path, f"motion:\n  zones:\n    - name: porch\n      points: {points}\n")
    code, lines = check(path)
    assert code == 2
    assert lines[0].startswith(f"{path}:4: motion.zones.0.points"), lines
    assert needle in lines[0]
