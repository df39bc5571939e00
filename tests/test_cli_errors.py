"""Every mistake a user can make on the command line is one line naming what and where, exit 2,
and no traceback; outputs are checked before the work starts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from doorbell.device.cli import cli
from doorbell.device.storage.index import EventIndex
from tests.support.process import doorbell

READ_ONLY = Path("/sys")  # a read-only mount: not even root writes there


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def one_line(result: Result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def run_args(tmp_path: Path, *extra: str) -> list[str]:
    # a camera that does not exist: were the checks made after the device is built, the error
    # would name the camera instead
    missing = tmp_path / "no-camera.mp4"
    return ["run", "--camera", f"file:{missing}", "--broker", "mqtt://127.0.0.1:9", *extra]


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "data"
    afile.write_text("")
    one_line(invoke(*run_args(tmp_path, "--data-dir", str(afile))), f"data dir {afile}")


def test_a_read_only_data_dir_is_refused_before_the_device_starts(tmp_path: Path) -> None:
    for data in (READ_ONLY, READ_ONLY / "doorbell"):
        one_line(invoke(*run_args(tmp_path, "--data-dir", str(data))), f"data dir {data}")


def test_a_config_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "doorbell.yaml"
    path.write_bytes("motion:\n  threshold: 30\n# caf\xe9 door\n".encode("latin-1"))
    line = one_line(invoke("config", "check", str(path)), "not UTF-8")
    assert line.startswith(f"{path}:3: ")


@pytest.mark.parametrize("key", ["ca_file", "password_file", "cert_file"])
def test_a_missing_mqtt_file_is_refused_by_check_and_run(tmp_path: Path, key: str) -> None:
    missing = tmp_path / "nope.pem"
    path = tmp_path / "doorbell.yaml"
    path.write_text(f"mqtt:\n  tls: true\n  {key}: {missing}\n")
    line = one_line(invoke("config", "check", str(path)), f"mqtt.{key}", "no such file")
    assert line.startswith(f"{path}:3: ")
    data = tmp_path / "data"
    one_line(invoke(*run_args(tmp_path, "--data-dir", str(data), "--config", str(path))), key)
    one_line(invoke("config", "check", "--set", f"mqtt.{key}={missing}"), f"--set mqtt.{key}")


def test_config_check_takes_set(tmp_path: Path) -> None:
    one_line(invoke("config", "check", "--set", "motion.threshold=0"), "--set motion.threshold")
    assert invoke("config", "check", "--set", "motion.threshold=30").exit_code == 0


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("mqtt://[::1", "Invalid IPv6 URL"),
        ("mqtt://user:pw@broker.example", "no credentials in the URL"),
        ("mqtt://broker.example/doorbell", "no path"),
        ("mqtt://broker.example:99999", "Port out of range"),
    ],
)
def test_a_bad_broker_url_is_refused(tmp_path: Path, url: str, needle: str) -> None:
    result = invoke(*run_args(tmp_path, "--data-dir", str(tmp_path / "data"), "--broker", url))
    assert result.exit_code == 2, result.output
    assert needle in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("speed", ["nan", "inf", "-inf", "1e9", "0", "-1", "fast"])
def test_speed_is_finite_and_bounded(tmp_path: Path, speed: str) -> None:
    result = invoke(*run_args(tmp_path, "--data-dir", str(tmp_path / "data"), "--speed", speed))
    assert result.exit_code == 2, result.output
    assert "--speed" in result.stderr and "Traceback" not in result.output


def test_summary_json_is_checked_before_the_run(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    for target in (tmp_path / "no-such-dir" / "s.json", tmp_path, READ_ONLY / "s.json"):
        args = run_args(tmp_path, "--data-dir", data, "--summary-json", str(target))
        one_line(invoke(*args), f"--summary-json {target}", "cannot write")


def test_analyze_outputs_are_checked_before_the_work(tmp_path: Path) -> None:
    video = str(tmp_path / "missing.mp4")  # the work would fail on this, naming the video
    for option in ("--json", "--plot"):
        for target in (tmp_path / "no-such-dir" / "out", tmp_path, READ_ONLY / "out"):
            one_line(invoke("analyze", video, option, str(target)), f"{option} {target}")


@pytest.fixture
def clip_dir(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "data"
    (data / "clips").mkdir(parents=True)
    (data / "clips" / "c1.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"v" * 100)
    index = EventIndex(data / "index.sqlite")
    index.add_event("e1", "motion", 1_764_000_000.0)
    index.add_clip("c1", ["e1"], "clips/c1.mp4", 1_764_000_000.0)
    index.finish_clip("c1", "clips/c1.mp4", 1_764_000_004.5333559, 4.5333559999999995, 68, 112, "x")
    index.close()
    return data, "c1"


def test_clips_export_to_a_missing_folder_is_refused(
    tmp_path: Path, clip_dir: tuple[Path, str]
) -> None:
    data, clip = clip_dir
    dest = tmp_path / "no" / "such" / "dir" / "x.mp4"
    one_line(invoke("clips", "export", "--data-dir", str(data), clip, str(dest)), str(dest))


def test_clips_export_does_not_overwrite_without_force(
    tmp_path: Path, clip_dir: tuple[Path, str]
) -> None:
    data, clip = clip_dir
    dest = tmp_path / "mine.mp4"
    dest.write_bytes(b"precious")
    one_line(invoke("clips", "export", "--data-dir", str(data), clip, str(dest)), "--force")
    assert dest.read_bytes() == b"precious"
    result = invoke("clips", "export", "--data-dir", str(data), clip, str(dest), "--force")
    assert result.exit_code == 0, result.output
    assert dest.read_bytes() == (data / "clips" / "c1.mp4").read_bytes()


def test_clips_export_never_writes_through_a_link(
    tmp_path: Path, clip_dir: tuple[Path, str]
) -> None:
    data, clip = clip_dir
    recorded = (data / "clips" / "c1.mp4").read_bytes()
    # A dangling link: the export must not create the file it points to.
    aimed = tmp_path / "aimed-at" / "authorized_keys"
    aimed.parent.mkdir()
    dangling = tmp_path / "dangling.mp4"
    dangling.symlink_to(aimed)
    one_line(invoke("clips", "export", "--data-dir", str(data), clip, str(dangling)), "--force")
    assert not aimed.exists()
    result = invoke("clips", "export", "--data-dir", str(data), clip, str(dangling), "--force")
    assert result.exit_code == 0, result.output
    assert not aimed.exists() and not dangling.is_symlink()  # the link itself was replaced
    assert dangling.read_bytes() == recorded
    # A link to an existing file: replaced, the file it pointed to untouched.
    precious = tmp_path / "precious.txt"
    precious.write_bytes(b"precious")
    linked = tmp_path / "linked.mp4"
    linked.symlink_to(precious)
    result = invoke("clips", "export", "--data-dir", str(data), clip, str(linked), "--force")
    assert result.exit_code == 0, result.output
    assert precious.read_bytes() == b"precious" and linked.read_bytes() == recorded
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_clips_list_json_rounds_seconds(clip_dir: tuple[Path, str]) -> None:
    data, _ = clip_dir
    result = invoke("clips", "list", "--json", "--data-dir", str(data))
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["seconds"] == 4.533 and row["end_wall"] == 1_764_000_004.533


def test_real_processes_print_no_traceback(tmp_path: Path) -> None:
    afile = tmp_path / "data"
    afile.write_text("")
    for args in (
        ["run", "--data-dir", str(afile)],
        ["run", "--broker", "mqtt://[::1", "--data-dir", str(tmp_path / "d")],
        ["run", "--speed", "nan", "--data-dir", str(tmp_path / "d")],
    ):
        proc = doorbell(*args, timeout=60)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr


def test_an_unknown_key_with_brackets_is_one_line() -> None:
    """Found by tests/test_cli_fuzz.py: `[` in a key was taken for a pydantic tag and dropped."""
    one_line(invoke("config", "check", "--set", "[=1"), "--set [: [: unknown key")


def test_a_path_of_undecodable_bytes_is_one_line() -> None:
    """Found by tests/test_cli_fuzz.py: argv bytes that are not UTF-8 crashed the message."""
    odd = os.fsdecode(b"/tmp/\x80-ca.pem")
    one_line(invoke("config", "check", "--set", f"mqtt.ca_file={odd}"), "no such file")


@pytest.mark.parametrize(
    ("args", "needle", "command"),
    [
        (["run", "--speed", "fast"], "--speed: 'fast'", "doorbell run"),
        (["run", "--sped", "3"], "No such option '--sped'", "doorbell run"),
        (["run", "--log-format", "xml"], "'xml' is not one of", "doorbell run"),
        (["nosuch"], "No such command 'nosuch'", "doorbell"),
        (["clips", "export"], "Missing argument 'CLIP_ID'", "doorbell clips export"),
        (["clips", "list", "extra"], "unexpected extra argument", "doorbell clips list"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_command_help(
    args: list[str], needle: str, command: str
) -> None:
    line = one_line(invoke(*args), needle)
    assert line.startswith("doorbell: ") and line.endswith(f"({command} -h for help)"), line


def test_help_and_version_still_work() -> None:
    for args in (["-h"], ["--help"], ["run", "-h"], ["clips", "export", "--help"]):
        result = invoke(*args)
        assert result.exit_code == 0 and result.stdout.startswith("Usage: doorbell"), args
    version = invoke("--version")
    assert version.exit_code == 0 and version.stdout.startswith("doorbell, version ")


def test_a_real_process_says_a_usage_error_in_one_line() -> None:
    proc = doorbell("run", "--speed", "fast", timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "doorbell: Invalid value for --speed: 'fast' (allowed: a number > 0, or max) "
        "(doorbell run -h for help)"
    ]
