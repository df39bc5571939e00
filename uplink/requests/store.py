"""Durable state of footage requests in `data_dir/requests.sqlite`: the ids already seen (replay
protection survives restarts), the review queue, and which files of a share are uploaded."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from doorbell.config.data_dir import DataDir
from doorbell.uplink.requests.models import FootageRequest, Redaction, SharedClip, StoredRequest
from doorbell.uplink.sqlite_file import keep_journal, open_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    received_at REAL NOT NULL,
    deadline REAL NOT NULL,
    decided_at REAL,
    clips TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    announced INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS uploaded (
    request_id TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (request_id, name)
);
"""


def _dt(wall: float | None) -> datetime | None:
    return None if wall is None else datetime.fromtimestamp(wall, UTC)


def _setup(db: sqlite3.Connection) -> None:
    keep_journal(db)
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(_SCHEMA)
    columns = {row[1] for row in db.execute("PRAGMA table_info(requests)")}
    if "redaction" not in columns:  # a store written before face redaction existed
        db.execute("ALTER TABLE requests ADD COLUMN redaction TEXT")


class RequestStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = open_sqlite(path, _setup, check_same_thread=False, isolation_level=None)

    @classmethod
    def in_dir(cls, data_dir: Path) -> RequestStore:
        return cls(DataDir(data_dir).requests)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, request: FootageRequest, state: str, received_at: float, deadline: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO requests (request_id, body, state, received_at, deadline) "
                "VALUES (?, ?, ?, ?, ?)",
                (request.request_id, request.model_dump_json(), state, received_at, deadline),
            )

    def update(
        self,
        request_id: str,
        state: str,
        decided_at: float | None = None,
        clips: list[SharedClip] | None = None,
        error: str | None = None,
    ) -> None:
        clips_json = json.dumps([c.model_dump() for c in clips or []])
        with self._lock:
            self._db.execute(
                "UPDATE requests SET state = ?, decided_at = COALESCE(?, decided_at), "
                "clips = ?, error = ? WHERE request_id = ?",
                (state, decided_at, clips_json, error, request_id),
            )

    def claim(self, request_id: str, from_states: tuple[str, ...], to_state: str) -> bool:
        """Move a request on only if it is still in one of `from_states`: the device and the
        CLI (another process) may decide the same request at once; one of them wins."""
        marks = ",".join("?" * len(from_states))
        with self._lock:
            cur = self._db.execute(
                f"UPDATE requests SET state = ? WHERE request_id = ? AND state IN ({marks})",
                (to_state, request_id, *from_states),
            )
            return cur.rowcount == 1

    def set_redaction(self, request_id: str, redaction: Redaction) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE requests SET redaction = ? WHERE request_id = ?",
                (redaction.model_dump_json(), request_id),
            )

    def set_announced(self, request_id: str, announced: bool) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE requests SET announced = ? WHERE request_id = ?",
                (int(announced), request_id),
            )

    def unannounced(self) -> list[StoredRequest]:
        return self._select("WHERE announced = 0", ())

    def get(self, request_id: str) -> StoredRequest | None:
        rows = self._select("WHERE request_id = ?", (request_id,))
        return rows[0] if rows else None

    def in_states(self, states: tuple[str, ...] = ()) -> list[StoredRequest]:
        if not states:
            return self._select("", ())
        marks = ",".join("?" * len(states))
        return self._select(f"WHERE state IN ({marks})", states)

    def overdue(self, now: float) -> list[StoredRequest]:
        return self._select("WHERE state = 'pending' AND deadline <= ?", (now,))

    def _select(self, where: str, args: tuple[object, ...]) -> list[StoredRequest]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body, state, received_at, deadline, decided_at, clips, error, redaction "
                f"FROM requests {where} ORDER BY received_at, request_id",
                args,
            ).fetchall()
        return [
            StoredRequest(
                request=FootageRequest.model_validate_json(body),
                state=state,
                received_at=_dt(received),
                deadline=_dt(deadline),
                decided_at=_dt(decided),
                clips=[SharedClip(**c) for c in json.loads(clips)],
                error=error,
                redaction=Redaction.model_validate_json(redaction) if redaction else None,
            )
            for body, state, received, deadline, decided, clips, error, redaction in rows
        ]

    def uploaded(self, request_id: str) -> set[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name FROM uploaded WHERE request_id = ?", (request_id,)
            ).fetchall()
        return {name for (name,) in rows}

    def mark_uploaded(self, request_id: str, name: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO uploaded (request_id, name) VALUES (?, ?)",
                (request_id, name),
            )
