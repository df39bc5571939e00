"""The durable outbox: every alert is on disk before it is published, until its PUBACK.

SQLite in WAL mode; one connection shared by the caller's thread (add) and the sender thread
(delete, read), serialised by a lock. Bounded by count and age; what is dropped is counted, and
the count is kept in the same file so a reboot does not forget it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class OutboxRow:
    id: int
    topic: str
    payload: bytes
    created: float


class Outbox:
    def __init__(
        self,
        path: Path,
        max_messages: int,
        max_age_hours: float,
        clock: Callable[[], float] = time.time,
        synchronous: Literal["normal", "full"] = "full",
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_messages = max_messages
        self.max_age = max_age_hours * 3600.0
        self.clock = clock
        self._lock = threading.Lock()
        # isolation_level=None: we commit explicitly, one transaction per call
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: an added row survives a power cut, not only a process kill
        self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self._db.executescript(SCHEMA)
        self._count = self._count_rows()

    def _count_rows(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    def add(self, topic: str, payload: bytes) -> int:
        """Store one message; returns its row id (ascending = publishing order)."""
        now = self.clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT INTO messages (topic, payload, created) VALUES (?, ?, ?)",
                    (topic, payload, now),
                )
                row_id = int(cur.lastrowid or 0)
                self._count += 1
                self._enforce_bounds(now)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._count = self._count_rows()
                raise
        return row_id

    def _enforce_bounds(self, now: float) -> None:
        """Drop the oldest beyond the count, and anything past its age (inside a transaction)."""
        dropped = self._db.execute(
            "DELETE FROM messages WHERE created < ?", (now - self.max_age,)
        ).rowcount
        self._count -= dropped
        excess = self._count - self.max_messages
        if excess > 0:
            gone = self._db.execute(
                "DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT ?)",
                (excess,),
            ).rowcount
            self._count -= gone
            dropped += gone
        if dropped:
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES ('dropped', ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (dropped,),
            )

    def expire(self) -> None:
        """Apply the age bound now (the sender calls this while nothing new arrives)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._enforce_bounds(self.clock())
            self._db.execute("COMMIT")

    def delete(self, row_ids: list[int]) -> None:
        if not row_ids:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            gone = self._db.executemany(
                "DELETE FROM messages WHERE id = ?", [(i,) for i in row_ids]
            ).rowcount
            self._db.execute("COMMIT")
            self._count -= gone

    def after(self, row_id: int, limit: int) -> list[OutboxRow]:
        """Up to `limit` messages newer than `row_id`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, created FROM messages WHERE id > ? ORDER BY id LIMIT ?",
                (row_id, limit),
            ).fetchall()
        return [OutboxRow(int(r[0]), str(r[1]), bytes(r[2]), float(r[3])) for r in rows]

    def get(self, row_ids: list[int]) -> list[OutboxRow]:
        """These rows (those still there), oldest first."""
        found = []
        with self._lock:
            for i in sorted(row_ids):
                r = self._db.execute(
                    "SELECT id, topic, payload, created FROM messages WHERE id = ?", (i,)
                ).fetchone()
                if r:
                    found.append(OutboxRow(int(r[0]), str(r[1]), bytes(r[2]), float(r[3])))
        return found

    @property
    def backlog(self) -> int:
        return self._count

    @property
    def newest_id(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(id) FROM messages").fetchone()
        return int(row[0] or 0)

    @property
    def dropped(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        return int(row[0]) if row else 0

    def clear(self) -> int:
        """Delete every message and the drop count (erasure); returns how many there were."""
        with self._lock:
            removed = int(self._db.execute("DELETE FROM messages").rowcount)
            self._db.execute("DELETE FROM counters")
            self._count = 0
        return removed

    def close(self) -> None:
        with self._lock:
            self._db.close()
