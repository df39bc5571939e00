"""Ids already taken, so that a captured message replayed later is refused.

Footage request ids and command nonces are kept here as SHA-256 digests, in a file of their own
that `doorbell erase` leaves in place: they are not the owner's data (a digest tells nothing about
a request), and forgetting them would let a request captured before an erase share footage
recorded after it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

from doorbell.uplink.disk_full import full_disk_as_oserror
from doorbell.uplink.sqlite_file import keep_journal


class ReplayGuard:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        keep_journal(self._db)  # it opens on a full disk, where a WAL could not be made
        try:
            with full_disk_as_oserror("replay guard"):
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS taken (digest TEXT PRIMARY KEY, kind TEXT, at REAL)"
                )
        except OSError:  # a first start on a full disk: every claim is refused until there is room
            pass

    def claim(self, kind: str, value: str, at: float) -> bool:
        """Record `value` of `kind`; True the first time, False for a replay."""
        digest = hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()
        # a full disk: DiskFull, and what needed the claim is refused (never taken unrecorded)
        with self._lock, full_disk_as_oserror("replay guard"):
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS taken (digest TEXT PRIMARY KEY, kind TEXT, at REAL)"
            )
            cur = self._db.execute(
                "INSERT OR IGNORE INTO taken VALUES (?, ?, ?)", (digest, kind, at)
            )
            return cur.rowcount == 1

    def forget(self, kind: str, before: float) -> None:
        """Drop digests of `kind` older than `before`: those a time window already refuses."""
        with self._lock, full_disk_as_oserror("replay guard"):
            self._db.execute("DELETE FROM taken WHERE kind = ? AND at < ?", (kind, before))

    def close(self) -> None:
        with self._lock:
            self._db.close()
