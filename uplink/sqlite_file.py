"""Opening the device's SQLite files so that a corrupt one cannot keep the device from starting.

A file that is not a database (a bad copy, a truncated write) or is malformed (a power cut on a
card that lies about flushes) is moved aside as `<name>.corrupt-<UTC time>`, with its WAL, said
once at ERROR, and a new empty database is opened in its place. Without this the device would
stop at start, and under systemd restart forever. Used by the outbox and the event index (device
may import uplink; uplink may not import device).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Setup = Callable[[sqlite3.Connection], None]
# what "corrupt" means; a locked or read-only database is not corrupt and is not moved
CORRUPT_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
SIDE_FILES = ("-wal", "-shm", "-journal")


class MalformedDatabase(sqlite3.DatabaseError):
    """The file reads as a database, but `PRAGMA quick_check` finds it damaged."""


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    if isinstance(exc, MalformedDatabase):
        return True
    return getattr(exc, "sqlite_errorcode", None) in CORRUPT_CODES


def _open(path: Path, setup: Setup | None, connect: dict[str, Any]) -> sqlite3.Connection:
    db = sqlite3.connect(path, **connect)
    try:
        # the header is read lazily: ask something of every page's structure now
        problems = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise MalformedDatabase(f"database disk image is malformed: {problems[0]}")
        if setup is not None:
            setup(db)
    except BaseException:
        db.close()
        raise
    return db


def keep_journal(db: sqlite3.Connection) -> None:
    """A rollback journal kept between transactions (`PERSIST`), not a WAL. SQLite deletes a WAL
    and its shared-memory file at the last close and has to create both again before it can even
    read the database, which a full disk refuses: a device restarted on a full card could not
    start. A kept journal is already there, at its size (docs/recording.md, "A full disk")."""
    db.execute("PRAGMA journal_mode=PERSIST")


def set_aside(path: Path, now: float | None = None) -> Path:
    """Rename `path` (and its WAL and shared-memory files) to `<name>.corrupt-<UTC time>`."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.rename(aside)
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(aside.with_name(aside.name + suffix))
    return aside


def open_sqlite(path: Path, setup: Setup | None = None, **connect: Any) -> sqlite3.Connection:
    """`sqlite3.connect(path, **connect)`, checked, then `setup` (pragmas, schema); a corrupt
    file is set aside (logged at ERROR) and a new one opened. Other errors are raised."""
    try:
        return _open(path, setup, connect)
    except sqlite3.DatabaseError as exc:
        if not _is_corrupt(exc) or not path.exists():
            raise
        aside = set_aside(path)
        log.error(
            "%s is corrupt (%s): moved aside to %s; starting with an empty one",
            path,
            exc,
            aside.name,
        )
    return _open(path, setup, connect)
