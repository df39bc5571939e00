"""The index of events and clips: SQLite, in `data_dir/index.sqlite`.

A clip row exists only for a file that exists: it is added as `recording` when the file is
opened under its temporary name, and becomes `complete` (or `damaged`, after a crash) only once
the file has its final name.

A full disk: every method raises `DiskFull` (an OSError, as a clip file's write does), and a
transaction it cut short is rolled back.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from doorbell.uplink.disk_full import full_disk_as_oserror
from doorbell.uplink.sqlite_file import keep_journal, open_sqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    start_wall REAL NOT NULL,
    end_wall REAL,
    score REAL NOT NULL DEFAULT 0,
    zones TEXT NOT NULL DEFAULT '[]',
    clip_id TEXT,
    snapshot TEXT,
    thumbnail TEXT,
    label TEXT NOT NULL DEFAULT 'unknown',
    end_clip_id TEXT
);
CREATE TABLE IF NOT EXISTS clips (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    file TEXT NOT NULL,
    start_wall REAL NOT NULL,
    end_wall REAL NOT NULL,
    seconds REAL NOT NULL DEFAULT 0,
    frames INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('recording', 'complete', 'damaged')),
    keep INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS clips_by_time ON clips (start_wall);
CREATE INDEX IF NOT EXISTS events_by_time ON events (start_wall);
"""


@dataclass(frozen=True)
class ClipRow:
    id: str
    event_id: str
    file: str  # relative to data_dir
    start_wall: float
    end_wall: float
    seconds: float
    frames: int
    bytes: int
    sha256: str
    state: str
    keep: bool
    snapshot: str | None  # relative to data_dir


@dataclass(frozen=True)
class EventRow:
    id: str
    type: str
    start_wall: float
    end_wall: float | None
    score: float
    zones: list[str]
    clip_id: str | None
    snapshot: str | None
    thumbnail: str | None
    label: str = "unknown"  # what moved (docs/classify.md), as voted when the event ended
    # a possible package's end: the clip of the motion that took it (`clip_id`: that put it down)
    end_clip_id: str | None = None


_CLIP_SELECT = (
    "SELECT c.id, c.event_id, c.file, c.start_wall, c.end_wall, c.seconds, c.frames, c.bytes, "
    "c.sha256, c.state, c.keep, e.snapshot FROM clips c LEFT JOIN events e ON e.id = c.event_id"
)


def _clip(r: tuple) -> ClipRow:
    return ClipRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10]), r[11])


def _setup(db: sqlite3.Connection) -> None:
    keep_journal(db)
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    # An index from before event labels (docs/classify.md) gets the column; its events `unknown`.
    if "label" not in {row[1] for row in db.execute("PRAGMA table_info(events)")}:
        db.execute("ALTER TABLE events ADD COLUMN label TEXT NOT NULL DEFAULT 'unknown'")
    # One from before possible packages had clips (docs/classify.md) gets the taker's clip.
    if "end_clip_id" not in {row[1] for row in db.execute("PRAGMA table_info(events)")}:
        db.execute("ALTER TABLE events ADD COLUMN end_clip_id TEXT")


class EventIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        # A corrupt index (a power cut on a card that lies about flushes) is set aside, loudly,
        # and the device starts with an empty one rather than not at all.
        self._db = open_sqlite(
            path, _setup, check_same_thread=False, isolation_level=None, timeout=10
        )

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        with self._lock, full_disk_as_oserror("index"):
            return self._db.execute(sql, args)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, full_disk_as_oserror("index"):
            self._db.execute("BEGIN")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite has rolled back itself after some errors
                    self._db.execute("ROLLBACK")
                raise

    # -- events -----------------------------------------------------------------------------------
    def add_event(self, event_id: str, kind: str, start_wall: float) -> None:
        self._run(
            "INSERT OR IGNORE INTO events (id, type, start_wall) VALUES (?, ?, ?)",
            (event_id, kind, start_wall),
        )

    def end_event(self, event_id: str, end_wall: float, score: float, zones: list[str]) -> None:
        self._run(
            "UPDATE events SET end_wall = ?, score = ?, zones = ? WHERE id = ?",
            (end_wall, score, json.dumps(zones), event_id),
        )

    def link_end_clip(self, event_id: str, clip_id: str) -> None:
        """A possible package's end: the clip of the motion that took it away."""
        self._run("UPDATE events SET end_clip_id = ? WHERE id = ?", (clip_id, event_id))

    def set_label(self, event_id: str, label: str) -> None:
        self._run("UPDATE events SET label = ? WHERE id = ?", (label, event_id))

    def set_snapshot(self, event_id: str, snapshot: str, thumbnail: str) -> None:
        self._run(
            "UPDATE events SET snapshot = ?, thumbnail = ? WHERE id = ?",
            (snapshot, thumbnail, event_id),
        )

    def events_between(self, start_wall: float, end_wall: float) -> list[EventRow]:
        return self._events(
            "start_wall <= ? AND COALESCE(end_wall, start_wall) >= ?", (end_wall, start_wall)
        )

    def latest_events(
        self,
        limit: int,
        since: float = 0.0,
        until: float = 1e18,
        kind: str | None = None,
        label: str | None = None,
    ) -> list[EventRow]:
        """Newest first: at most `limit` events that started in [since, until), of one type,
        with one label."""
        where = "start_wall >= ? AND start_wall < ?"
        args: tuple[object, ...] = (since, until)
        if kind is not None:
            where, args = f"{where} AND type = ?", (*args, kind)
        if label is not None:
            where, args = f"{where} AND label = ?", (*args, label)
        return self._events(where, args, f"start_wall DESC LIMIT {int(limit)}")

    def events_of_clip(self, clip_id: str) -> list[EventRow]:
        return self._events("clip_id = ?", (clip_id,))

    def get_event(self, event_id: str) -> EventRow | None:
        rows = self._events("id = ?", (event_id,))
        return rows[0] if rows else None

    def open_events(self) -> list[EventRow]:
        """Events that never got an end: at start, only a crash leaves these."""
        return self._events("end_wall IS NULL", ())

    def events_without_clip(self, ended_before: float) -> list[EventRow]:
        return self._events("clip_id IS NULL AND end_wall < ?", (ended_before,))

    def _events(
        self, where: str, args: tuple[object, ...], order: str = "start_wall"
    ) -> list[EventRow]:
        rows = self._run(
            "SELECT id, type, start_wall, end_wall, score, zones, clip_id, snapshot, thumbnail, "
            "label, end_clip_id "
            f"FROM events WHERE {where} ORDER BY {order}",
            args,
        ).fetchall()
        return [EventRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), *r[6:]) for r in rows]

    def delete_events(self, event_ids: list[str]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM events WHERE id = ?", [(e,) for e in event_ids])

    # -- clips ------------------------------------------------------------------------------------
    def add_clip(self, clip_id: str, event_ids: list[str], file: str, start_wall: float) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO clips (id, event_id, file, start_wall, end_wall, state) "
                "VALUES (?, ?, ?, ?, ?, 'recording')",
                # A continuous segment may hold no event yet: it stands for itself.
                (clip_id, event_ids[0] if event_ids else clip_id, file, start_wall, start_wall),
            )
            db.executemany(
                "UPDATE events SET clip_id = ? WHERE id = ?", [(clip_id, e) for e in event_ids]
            )

    def link_event(self, clip_id: str, event_id: str) -> None:
        self._run("UPDATE events SET clip_id = ? WHERE id = ?", (clip_id, event_id))

    def finish_clip(
        self,
        clip_id: str,
        file: str,
        end_wall: float,
        seconds: float,
        frames: int,
        size: int,
        sha256: str,
        state: str = "complete",
    ) -> None:
        self._run(
            "UPDATE clips SET file = ?, end_wall = ?, seconds = ?, frames = ?, bytes = ?, "
            "sha256 = ?, state = ? WHERE id = ?",
            (file, end_wall, seconds, frames, size, sha256, state, clip_id),
        )

    def clips(self, state: str | None = None) -> list[ClipRow]:
        where, args = (" WHERE c.state = ?", (state,)) if state else ("", ())
        rows = self._run(f"{_CLIP_SELECT}{where} ORDER BY c.start_wall", args).fetchall()
        return [_clip(r) for r in rows]

    def clips_between(self, start_wall: float, end_wall: float) -> list[ClipRow]:
        rows = self._run(
            f"{_CLIP_SELECT} WHERE c.start_wall <= ? AND c.end_wall >= ? ORDER BY c.start_wall",
            (end_wall, start_wall),
        ).fetchall()
        return [_clip(r) for r in rows]

    def get_clip(self, clip_id: str) -> ClipRow | None:
        row = self._run(f"{_CLIP_SELECT} WHERE c.id = ?", (clip_id,)).fetchone()
        return _clip(row) if row else None

    def set_keep(self, clip_id: str, keep: bool) -> bool:
        return (
            self._run("UPDATE clips SET keep = ? WHERE id = ?", (int(keep), clip_id)).rowcount > 0
        )

    def delete_clip(self, clip_id: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE events SET clip_id = NULL WHERE clip_id = ?", (clip_id,))
            db.execute("UPDATE events SET end_clip_id = NULL WHERE end_clip_id = ?", (clip_id,))
            db.execute("DELETE FROM clips WHERE id = ?", (clip_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
