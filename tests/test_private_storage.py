"""The data dir is private from every entry point: every command runs with umask 077, and `run`
tightens what exists (0700 folders, 0600 files) before it starts."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from doorbell.device.cli.paths import check_data_dir
from doorbell.device.system.private_dir import make_private

OTHERS = stat.S_IRWXG | stat.S_IRWXO


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_data_dir_made_by_another_command_than_run_is_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    listed = subprocess.run(
        [sys.executable, "-m", "doorbell.device", "requests", "list", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # a usual login shell's umask
    )
    assert listed.returncode == 0, listed.stderr
    made = [data, *data.rglob("*")]
    assert any(p.name == "requests.sqlite" for p in made), made
    assert [p for p in made if mode(p) & OTHERS] == []


def test_run_tightens_what_exists(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "clips").mkdir(parents=True)
    os.chmod(data, 0o755)
    os.chmod(data / "clips", 0o755)
    database, clip = data / "requests.sqlite", data / "clips" / "c-1.mp4"
    for path in (database, clip):
        path.write_bytes(b"x")
        os.chmod(path, 0o644)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not ours to change")
    os.chmod(outside, 0o644)
    (data / "link").symlink_to(outside)
    check_data_dir(data)
    assert (mode(data), mode(data / "clips")) == (0o700, 0o700)
    assert (mode(database), mode(clip)) == (0o600, 0o600)
    assert mode(outside) == 0o644  # a link is not followed out of the data dir
    assert make_private(data) == 0  # nothing left to change


def test_what_cannot_be_made_private_is_a_refusal_naming_it(tmp_path: Path) -> None:
    """A world-readable file the device cannot chmod (here: immutable, which stops root too;
    in the field: another account's): `run` stops with one line naming it, exit 2."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    stuck = data / "requests.sqlite"
    stuck.write_bytes(b"x")
    os.chmod(stuck, 0o644)
    made = subprocess.run(["chattr", "+i", str(stuck)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make a file immutable here: {made.stderr.strip()}")
    try:
        checked = subprocess.run(
            [sys.executable, "-c", CHECK, str(data)], capture_output=True, text=True, timeout=60
        )
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=True)
    assert checked.returncode == 2, checked.stderr
    line = checked.stderr.strip()
    assert "\n" not in line and str(stuck) in line and "cannot be made private" in line
    assert mode(stuck) == 0o644


# check_data_dir as `run` calls it, in a process of its own (it exits on a refusal)
CHECK = "import sys, pathlib; from doorbell.device.cli.paths import check_data_dir; " + (
    "check_data_dir(pathlib.Path(sys.argv[1]))"
)
