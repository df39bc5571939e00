"""A corrupt outbox (or index) is set aside, said once at ERROR, and the device starts fresh."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from doorbell.config.data_dir import DataDir
from doorbell.uplink.outbox import Outbox
from doorbell.uplink.sqlite_file import open_sqlite
from tests.support.broker import MosquittoBroker
from tests.support.process import doorbell


def corrupt_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]


def test_a_file_that_is_not_a_database_is_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite"
    junk = b"this was never a database\n" * 200
    path.write_bytes(junk)
    outbox = Outbox(path)
    try:
        assert outbox.backlog == 0
        outbox.add("t", b"after")
        assert outbox.backlog == 1
    finally:
        outbox.close()
    (aside,) = tmp_path.glob("outbox.sqlite.corrupt-*")
    assert aside.read_bytes() == junk
    (line,) = corrupt_lines(caplog)
    assert str(path) in line and "is corrupt" in line and aside.name in line


def test_a_malformed_database_is_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path)
    for n in range(300):
        outbox.add("doorbell/x/event", bytes([n % 256]) * 2000)
    outbox.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(3 * page, len(data) - page, 5 * page):  # scribble over some pages
        data[start + 8 : start + 200] = b"\xff" * 192
    path.write_bytes(bytes(data))
    outbox = Outbox(path)
    try:
        assert outbox.backlog == 0
    finally:
        outbox.close()
    # the database, and its journal beside it (kept between transactions: the outbox's reserve)
    aside = sorted(p.name for p in tmp_path.glob("outbox.sqlite.corrupt-*"))
    assert [name for name in aside if not name.endswith("-journal")] == aside[:1]
    assert len(aside) <= 2
    assert len(corrupt_lines(caplog)) == 1


def test_a_healthy_database_keeps_its_rows_and_other_errors_are_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path)
    outbox.add("t", b"kept")
    outbox.close()
    outbox = Outbox(path)
    assert outbox.backlog == 1
    outbox.close()
    folder = tmp_path / "a-folder.sqlite"  # cannot be opened, but is not corrupt: left alone
    folder.mkdir()
    with pytest.raises(sqlite3.OperationalError):
        open_sqlite(folder)
    assert folder.is_dir() and not list(tmp_path.glob("*.corrupt-*"))
    assert corrupt_lines(caplog) == []


def test_a_device_with_a_corrupt_outbox_starts(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data")
    data.root.mkdir()
    data.outbox.write_bytes(b"\x00garbage" * 1000)
    proc = doorbell(
        "run",
        "--broker",
        mosquitto.url,
        "--data-dir",
        str(data.root),
        "--device-id",
        "sq",
        "--duration",
        "0.5",
        "--speed",
        "max",
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if "is corrupt" in ln]
    assert len(errors) == 1 and "ERROR" in errors[0], proc.stderr
    assert len(list(data.root.glob("outbox.sqlite.corrupt-*"))) == 1
