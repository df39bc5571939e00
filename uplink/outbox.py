"""The durable outbox: alerts live on disk from the moment they exist until the broker has them.

SQLite at `data_dir/outbox.sqlite`. A row is written (and synced) before it is published and
deleted on PUBACK, so a broker outage, a crash or a power cut loses nothing that was added: what
is left is sent again, oldest first. Bounded by count and age; what has to go is the oldest, and
every drop is counted in the same database (the count survives restarts).

A full disk: the file keeps a reserve of free pages inside itself (`reserve_bytes`, at most
`RESERVE_SHARE` of the filesystem), which only the outbox can use, and a rollback journal that is
kept at its size between transactions (`journal_mode=PERSIST`; a WAL is deleted at every close
and would have to grow again on a full disk). So alerts are still stored, in order, while clips
cannot be, and after a restart on a full disk too. Rows deleted on PUBACK go back to the reserve;
`top_up` grows it again when the disk has room. When even the reserve is used up, `add` raises
`DiskFull` (an OSError) and the caller decides.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from doorbell.uplink.disk_full import DiskFull, full_disk_as_oserror
from doorbell.uplink.sqlite_file import keep_journal, open_sqlite

log = logging.getLogger(__name__)
RESERVE_SHARE = 0.05  # of the filesystem, at most: the reserve never takes a small card
RESERVE_CHUNK_PAGES = 16  # grown this much at a time: the journal stays at about this size

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
CREATE TABLE IF NOT EXISTS outbox_reserve (pad BLOB);
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
        reserve_bytes: int = 0,
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
            # FULL: a row reported as added is on disk even if the power goes a moment later
            db.execute(f"PRAGMA synchronous={synchronous}")
            try:
                with full_disk_as_oserror("outbox"):
                    keep_journal(db)
                    db.executescript(SCHEMA)
            except DiskFull:
                # an outbox from an older version (a WAL, no reserve) on a full disk: used as it
                # is; it changes when there is room
                if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").fetchone():
                    raise
                log.warning("outbox: the disk is full; its reserve is made when there is room")

        # a corrupt outbox is set aside (said at ERROR): the device starts with an empty one
        self._db = open_sqlite(
            path, setup, isolation_level=None, check_same_thread=False, timeout=10
        )
        (self._page,) = self._db.execute("PRAGMA page_size").fetchone()
        self.reserve_pages = reserve_pages(path, reserve_bytes, self._page)
        self.top_up()

    # -- the reserve --------------------------------------------------------------------------
    def top_up(self) -> int:
        """Grow the file until `reserve_pages` pages inside it are free; returns the reserve's
        bytes now. A full disk stops it quietly: what there is, is the reserve."""
        with self._lock:
            try:
                with full_disk_as_oserror("outbox reserve"):
                    self._db.execute("CREATE TABLE IF NOT EXISTS outbox_reserve (pad BLOB)")
                    if self._free_pages() < self.reserve_pages:
                        # Written and committed, then deleted: pages only counted would be a
                        # hole in the file, taking no room on the disk. In chunks, one deleted
                        # at a time, so the journal never holds more than a chunk.
                        chunks = -(-self.reserve_pages // RESERVE_CHUNK_PAGES)
                        self._db.execute("BEGIN IMMEDIATE")
                        self._db.executemany(
                            "INSERT INTO outbox_reserve (pad) VALUES (zeroblob(?))",
                            [(RESERVE_CHUNK_PAGES * self._page,)] * chunks,
                        )
                        self._db.execute("COMMIT")
            except (OSError, sqlite3.Error):  # a full disk, a file size limit: best effort
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
            if not self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'outbox_reserve'"
            ).fetchone():
                return 0  # not made yet: the disk has been full since an older version ran
            try:
                with full_disk_as_oserror("outbox reserve"):
                    for (rowid,) in self._db.execute("SELECT rowid FROM outbox_reserve").fetchall():
                        self._db.execute("DELETE FROM outbox_reserve WHERE rowid = ?", (rowid,))
            except (OSError, sqlite3.Error):  # left for the next top-up: room the outbox has anyway
                pass
            return int(self._free_pages() * self._page)

    def _free_pages(self) -> int:
        (n,) = self._db.execute("PRAGMA freelist_count").fetchone()
        return int(n)

    # -- writing ----------------------------------------------------------------------------------
    def add(self, topic: str, payload: bytes | str, content_type: str | None = None) -> int:
        """Store one message (durably) and return its id; trims to the bounds first."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        now = self.clock()
        with self._lock, full_disk_as_oserror("outbox"), self._transaction():
            dropped = self._trim(now, room_for=1)
            cur = self._db.execute(
                "INSERT INTO outbox (created, topic, payload, content_type) VALUES (?,?,?,?)",
                (now, topic, data, content_type),
            )
            self._count_drops(dropped)
        return int(cur.lastrowid or 0)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: committed, or rolled back if anything raised."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back after some errors (a full disk among them)
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def ack(self, ids: Iterable[int]) -> int:
        """Delete delivered rows; returns how many were still there."""
        keys = [(i,) for i in ids]
        if not keys:
            return 0
        with self._lock, full_disk_as_oserror("outbox"):
            before = self._db.total_changes
            self._db.executemany("DELETE FROM outbox WHERE id = ?", keys)
            return self._db.total_changes - before

    def expire(self) -> int:
        """Drop rows older than the age bound (also done on every add)."""
        with self._lock, full_disk_as_oserror("outbox"), self._transaction():
            dropped = self._trim(self.clock(), room_for=0)
            self._count_drops(dropped)
        return dropped

    def clear(self) -> int:
        """Forget every message and the drop count (used by `doorbell erase`); returns how many
        messages there were."""
        with self._lock, full_disk_as_oserror("outbox"):
            (n,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
            with self._transaction():
                self._db.execute("DELETE FROM outbox")
                self._db.execute("DELETE FROM outbox_counters")
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


def reserve_pages(path: Path, wanted_bytes: int, page: int) -> int:
    """The reserve in pages: `wanted_bytes`, but never more than `RESERVE_SHARE` of the disk."""
    try:
        total = shutil.disk_usage(path.parent).total
    except OSError:
        return 0
    return int(min(wanted_bytes, RESERVE_SHARE * total) // page)
