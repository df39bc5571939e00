"""Private storage: what a running device writes under its data dir is its account's alone."""

from __future__ import annotations

import stat
from pathlib import Path

from doorbell.device.cli.service import render_unit
from tests.support.broker import MosquittoBroker
from tests.support.process import doorbell


def test_a_real_run_leaves_the_data_dir_0700_and_its_files_0600(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    data = tmp_path / "data"  # the device creates it
    done = doorbell(
        "run",
        "--broker",
        mosquitto.url,
        "--data-dir",
        str(data),
        "--device-id",
        "private",
        "--camera",
        "synthetic:walk_up_ring",
        "--duration",
        "20",
        "--speed",
        "max",
    )
    assert done.returncode == 0, done.stderr
    written = sorted(data.rglob("*"))
    names = {p.relative_to(data).parts[0] for p in written}
    assert {"clips", "snapshots", "index.sqlite", "outbox.sqlite", "requests.sqlite"} <= names, (
        names
    )
    assert list(data.glob("clips/*.mp4")) and list(data.glob("snapshots/*.jpg"))
    modes = {p.relative_to(data).as_posix(): stat.S_IMODE(p.lstat().st_mode) for p in written}
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert {name: mode for name, mode in modes.items() if mode not in (0o700, 0o600)} == {}
    assert all(modes[name] == 0o700 for name in ("clips", "snapshots"))


def test_the_service_unit_keeps_the_data_dir_private() -> None:
    unit = render_unit("/usr/bin/doorbell", Path("/etc/doorbell/config.yaml"), Path("/d"), "u", 30)
    assert "\nUMask=0077\n" in unit and "\nStateDirectoryMode=0700\n" in unit
