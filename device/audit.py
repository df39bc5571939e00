"""Append-only audit log of footage requests and decisions, each entry chained to the previous
by SHA-256 so that editing, inserting or deleting an entry in the middle is detected.

One JSON object per line in `data_dir/audit.jsonl`:
`{"seq", "at", "kind", "data", "prev", "hash"}` where `hash` = sha256 of the entry without
`hash`, serialised with sorted keys and compact separators, and `prev` = the previous `hash`
(64 zeros for the first entry).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.data_dir import DataDir
from uplink.messages import iso_utc

GENESIS = "0" * 64


def _canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(_canonical(body)).hexdigest()


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    entries: int
    first_bad: int | None = None  # line number (1-based) of the first entry that does not fit
    reason: str = ""


class AuditLog:
    """Safe for several processes (the device and the `doorbell` CLI): appends hold a lock."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock

    @classmethod
    def in_dir(cls, data_dir: Path, clock: Callable[[], float] = time.time) -> AuditLog:
        return cls(DataDir(data_dir).audit, clock)

    def append(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                last = _last_line(f)
                prev = json.loads(last) if last else None
                entry: dict[str, Any] = {
                    "seq": (prev["seq"] + 1) if prev else 1,
                    "at": iso_utc(self.clock()),
                    "kind": kind,
                    "data": data,
                    "prev": prev["hash"] if prev else GENESIS,
                }
                entry["hash"] = entry_hash(entry)
                f.seek(0, os.SEEK_END)
                f.write(_canonical(entry) + b"\n")
                f.flush()
                os.fsync(f.fileno())
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        return entry

    def entries(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)

    def verify(self) -> AuditCheck:
        if not self.path.exists():
            return AuditCheck(ok=True, entries=0)
        prev_hash, count = GENESIS, 0
        with self.path.open("rb") as f:
            for number, line in enumerate(f, start=1):
                try:
                    entry = json.loads(line)
                    if not isinstance(entry, dict):
                        raise ValueError("not an object")
                except ValueError:
                    return AuditCheck(False, count, number, "not a JSON object")
                if entry.get("seq") != count + 1:
                    return AuditCheck(
                        False, count, number, f"sequence {entry.get('seq')}, expected {count + 1}"
                    )
                if entry.get("prev") != prev_hash:
                    return AuditCheck(False, count, number, "does not chain to the entry before")
                if entry.get("hash") != entry_hash(entry):
                    return AuditCheck(False, count, number, "content does not match its hash")
                prev_hash, count = entry["hash"], count + 1
        return AuditCheck(ok=True, entries=count)


def _last_line(f: Any) -> bytes:
    """The last non-empty line, reading backwards from the end so appends stay O(1)."""
    f.seek(0, os.SEEK_END)
    end = f.tell()
    chunk, pos, tail = 4096, end, b""
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        f.seek(pos)
        tail = f.read(step) + tail
        stripped = tail.rstrip(b"\n")
        if b"\n" in stripped:
            return stripped.rsplit(b"\n", 1)[1]
    return tail.strip()
