"""`doorbell service install`: the unit names no group that may not exist, refuses a user that
does not exist when it may not create one, can write whatever data dir it names, and passes
Debian's `systemd-analyze verify`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from doorbell.device.cli import cli
from doorbell.device.cli.service import render_unit

EXE = "/usr/bin/doorbell"
CONFIG = Path("/etc/doorbell/doorbell.yaml")


def lines(unit: str, key: str) -> list[str]:
    return [line for line in unit.splitlines() if line.startswith(f"{key}=")]


def test_no_group_named_after_the_user() -> None:
    # Debian's `nobody` is in `nogroup`: Group=nobody made a unit that could not start
    unit = render_unit(EXE, CONFIG, Path("/var/lib/doorbell"), "nobody", 30)
    assert lines(unit, "User") == ["User=nobody"] and lines(unit, "Group") == []


@pytest.mark.parametrize(
    ("data_dir", "writable", "home"),
    [
        ("/var/lib/doorbell", [], "true"),  # StateDirectory=doorbell: writable already
        ("/srv/doorbell", ["ReadWritePaths=/srv/doorbell"], "true"),
        ("/home/pi/doorbell", ["ReadWritePaths=/home/pi/doorbell"], "read-only"),
    ],
)
def test_the_unit_can_write_the_data_dir_it_names(
    data_dir: str, writable: list[str], home: str
) -> None:
    unit = render_unit(EXE, CONFIG, Path(data_dir), "doorbell", 30)
    assert "ProtectSystem=strict" in unit.splitlines()
    assert lines(unit, "ReadWritePaths") == writable
    assert lines(unit, "ProtectHome") == [f"ProtectHome={home}"]


def test_a_user_that_does_not_exist_is_refused_without_create_user(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["service", "install", "--unit-dir", str(tmp_path), "--user", "no-such-user-29"]
        + ["--no-create-user"],
    )
    assert result.exit_code == 2, result.output
    assert "--user no-such-user-29: no such user" in result.output
    assert not (tmp_path / "doorbell.service").exists()


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian: apt-get install systemd)",
)
@pytest.mark.parametrize(
    ("user", "data_dir"),
    [("root", "/var/lib/doorbell"), ("nobody", None), ("root", "/home/doorbell-29")],
)
def test_every_unit_passes_systemd_analyze_verify(
    tmp_path: Path, user: str, data_dir: str | None
) -> None:
    target = tmp_path / "data" if data_dir is None else Path(data_dir)
    args = ["service", "install", "--unit-dir", str(tmp_path / "units"), "--user", user]
    args += ["--no-create-user", "--data-dir", str(target)]
    if data_dir is not None and data_dir != "/var/lib/doorbell":  # do not make folders there
        unit = render_unit(
            str(Path(sys.executable).with_name("doorbell")), CONFIG, target, user, 30
        )
        (tmp_path / "units").mkdir()
        (tmp_path / "units" / "doorbell.service").write_text(unit)
    else:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
    done = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "units" / "doorbell.service")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    complaints = [
        line
        for line in done.stderr.splitlines()
        if "doorbell.service" in line and "Special user nobody" not in line
    ]
    assert done.returncode == 0 and complaints == [], done.stderr
