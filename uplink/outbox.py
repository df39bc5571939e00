"""The durable outbox: alerts live on disk from the moment they exist until the broker has them.

SQLite in WAL mode at `data_dir/outbox.sqlite`. A row is written (and synced) before it is
published and deleted on PUBACK, so a broker outage, a crash or a power cut loses nothing that was
added: what is left is sent again, oldest first. Bounded by count and age; what has to go is the
oldest, and every drop is counted in the same database (the count survives restarts).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from doorbell.uplink.sqlite_file import open_sqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    content_type TEXT
);
CREATE TABLE IF NOT EXISTS outbox_counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class OutboxRow:
    id: int
    created: float  # clock() seconds when added
    topic: str
    payload: bytes
    content_type: str | None


class Outbox:
    """Thread-safe; one connection guarded by a lock (writes are tiny, SQLite serialises anyway)."""

    def __init__(
        self,
        path: Path,
        max_messages: int = 10_000,
        max_age_hours: float = 168.0,
        clock: Callable[[], float] = time.time,
        synchronous: str = "FULL",
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self.path = path
        self.max_messages = max_messages
        self.max_age_seconds = max_age_hours * 3600.0
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

        def setup(db: sqlite3.Connection) -> None:
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a row reported as added is on disk even if the power goes a moment later
            db.execute(f"PRAGMA synchronous={synchronous}")
            db.executescript(SCHEMA)

        # a corrupt outbox is set aside (said at ERROR): the device starts with an empty one
        self._db = open_sqlite(
            path, setup, isolation_level=None, check_same_thread=False, timeout=10
        )

    # -- writing ----------------------------------------------------------------------------------
    def add(self, topic: str, payload: bytes | str, content_type: str | None = None) -> int:
        """Store one message (durably) and return its id; trims to the bounds first."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        now = self.clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                dropped = self._trim(now, room_for=1)
                cur = self._db.execute(
                    "INSERT INTO outbox (created, topic, payload, content_type) VALUES (?,?,?,?)",
                    (now, topic, data, content_type),
                )
                self._count_drops(dropped)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return int(cur.lastrowid or 0)

    def ack(self, ids: Iterable[int]) -> int:
        """Delete delivered rows; returns how many were still there."""
        keys = [(i,) for i in ids]
        if not keys:
            return 0
        with self._lock:
            before = self._db.total_changes
            self._db.executemany("DELETE FROM outbox WHERE id = ?", keys)
            return self._db.total_changes - before

    def expire(self) -> int:
        """Drop rows older than the age bound (also done on every add)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            dropped = self._trim(self.clock(), room_for=0)
            self._count_drops(dropped)
            self._db.execute("COMMIT")
            return dropped

    def clear(self) -> int:
        """Forget every message and the drop count (used by `doorbell erase`); returns how many
        messages there were."""
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM outbox")
            self._db.execute("DELETE FROM outbox_counters")
            self._db.execute("COMMIT")
            return int(n)

    def _trim(self, now: float, room_for: int) -> int:
        cur = self._db.execute(
            "DELETE FROM outbox WHERE created < ?", (now - self.max_age_seconds,)
        )
        dropped = cur.rowcount
        (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        excess = count + room_for - self.max_messages
        if excess > 0:
            cur = self._db.execute(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)",
                (excess,),
            )
            dropped += cur.rowcount
        return dropped

    def _count_drops(self, n: int) -> None:
        if n > 0:
            self._db.execute(
                "INSERT INTO outbox_counters (name, value) VALUES ('dropped', ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (n,),
            )

    # -- reading ----------------------------------------------------------------------------------
    def pending(self, after_id: int = 0, limit: int = 100) -> list[OutboxRow]:
        """Rows with id > after_id, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, created, topic, payload, content_type FROM outbox "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [OutboxRow(int(i), float(c), t, bytes(p), ct) for i, c, t, p, ct in rows]

    def last_id(self) -> int:
        with self._lock:
            (value,) = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()
        return int(value)

    @property
    def backlog(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(n)

    @property
    def dropped(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM outbox_counters WHERE name = 'dropped'"
            ).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
