"""Append-only audit log of footage requests and decisions, each entry chained to the previous
by SHA-256 so that editing, inserting or deleting an entry in the middle is detected.

One JSON object per line in `data_dir/audit.jsonl`:
`{"seq", "at", "kind", "data", "prev", "hash"}` where `hash` = sha256 of the entry without
`hash`, serialised with sorted keys and compact separators, and `prev` = the previous `hash`
(64 zeros for the first entry).

A chain cannot show that its newest entries were cut off, so the device also remembers the last
entry it wrote outside the log (`audit-head.json`: seq, hash, prev). A log that no longer ends
there, found before the next append or by `check_tail()` at start, gets a `tamper` entry saying
what was expected and what was found (and `on_tamper` publishes an alert); `verify` fails for as
long as such an entry, or a log that does not end at the remembered head, is there. The head is
also published off the device after each entry (`on_append`) with its seq and prev, so a
subscriber sees a rewind even when the log and the head file were both rewritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doorbell.config.data_dir import DataDir
from doorbell.uplink.messages import iso_utc
from doorbell.uplink.requests.audit_head import AuditHead, read_head, write_head
from doorbell.uplink.requests.models import FootageRequest

GENESIS = "0" * 64


def _canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(_canonical(body)).hexdigest()


TAMPER = "tamper"  # the kind of entry written when the log no longer ends where it was left


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    entries: int
    first_bad: int | None = None  # line number (1-based) of the first entry that does not fit
    reason: str = ""


SEGMENTS = 4  # the current file and up to three older segments; `max_bytes` spans them all


class AuditLog:
    """Safe for several processes (the device and the `doorbell` CLI): appends hold a lock.

    Bounded: once the current file holds `max_bytes / SEGMENTS`, it becomes a segment
    (`audit.jsonl.<seq of its first entry>`) and a new file goes on with the same chain (its
    first `prev` is the last hash before it); the oldest segment goes when there are too many.
    A flood cannot take the disk the owner's clips need."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float] = time.time,
        max_bytes: int = 16 * 1024 * 1024,
        on_append: Callable[[AuditHead], None] | None = None,
    ) -> None:
        self.path = path
        self.head_path = path.with_name("audit-head.json")  # outside the log: what we wrote last
        self.clock = clock
        self.segment_bytes = max(4096, max_bytes // SEGMENTS)
        self.on_append = on_append  # gets each new head (published off the device)
        self.on_tamper: Callable[[dict[str, Any]], None] | None = None  # gets a tamper entry

    @classmethod
    def in_dir(
        cls, data_dir: Path, clock: Callable[[], float] = time.time, max_bytes: int = 16 << 20
    ) -> AuditLog:
        return cls(DataDir(data_dir).audit, clock, max_bytes)

    def segments(self) -> list[Path]:
        """Older segments, oldest first (not the current file)."""
        found = [p for p in self.path.parent.glob(self.path.name + ".*") if p.suffix[1:].isdigit()]
        return sorted(found, key=lambda p: int(p.suffix[1:]))

    def files(self) -> list[Path]:
        return [*self.segments(), *([self.path] if self.path.exists() else [])]

    def head(self) -> str | None:
        """The hash of the newest entry, None while the log is empty."""
        newest = self.newest()
        return newest.hash if newest else None

    def newest(self) -> AuditHead | None:
        """The newest entry's seq, hash and prev, None while the log is empty."""
        for path in reversed(self.files()):
            with path.open("rb") as f:
                last = _last_line(f)
            if last:
                return AuditHead.of(json.loads(last))
        return None

    def append(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """Write one entry (after a tamper entry, if the log no longer ends where it was left)."""
        written = self._append(kind, data)
        return written[-1]

    def check_tail(self) -> dict[str, Any] | None:
        """At start: the tamper entry written if the log no longer ends where it was left."""
        if not self.head_path.exists():  # nothing written yet (or before heads were kept)
            return None
        written = self._append(None, {})
        return written[0] if written else None

    def remembered(self) -> AuditHead | None:
        """The last entry written, as remembered outside the log; None if nothing was."""
        return read_head(self.head_path)

    def _append(self, kind: str | None, data: dict[str, Any]) -> list[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = self._open_locked()
        written: list[dict[str, Any]] = []
        try:
            tamper = self._tail_mismatch(f)
            if tamper is not None:
                f, entry = self._write(f, TAMPER, tamper)
                written.append(entry)
            if kind is not None:
                f, entry = self._write(f, kind, data)
                written.append(entry)
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()
        if written and self.on_append is not None:
            self.on_append(AuditHead.of(written[-1]))
        if tamper is not None and self.on_tamper is not None:
            self.on_tamper(written[0])
        return written

    def _tail_mismatch(self, f: Any) -> dict[str, Any] | None:
        """Under the lock: what a tamper entry says, if the log does not end at the head we
        remember (a cut tail, a rewound or replaced log)."""
        expected = self.remembered()
        if expected is None:
            return None
        last = _last_line(f) or self._last_of_segments()
        try:
            found = AuditHead.of(json.loads(last)) if last else None
        except (ValueError, KeyError, TypeError):
            found = None
        if found is not None and (found.seq, found.hash) == (expected.seq, expected.hash):
            return None
        return {
            "reason": "the log no longer ends where the device last wrote it",
            "expected": expected.to_json(),
            "found": found.to_json() if found else None,
        }

    def _write(self, f: Any, kind: str, data: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Under the lock: one entry appended, fsync'd and remembered; the file now locked."""
        last = _last_line(f) or self._last_of_segments()
        prev = json.loads(last) if last else None
        if prev is not None and os.fstat(f.fileno()).st_size >= self.segment_bytes:
            f = self._rotate(f)
            # Another writer may have created (and written to) the new file between our
            # rename and our lock on it: the entry before ours is whatever is last now.
            prev = json.loads(_last_line(f) or self._last_of_segments())
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
        write_head(self.head_path, AuditHead.of(entry))
        return f, entry

    def _open_locked(self) -> Any:
        """The current file, locked; if another process rotated it while we waited for the
        lock, the file we hold is a segment now: open the new one instead."""
        while True:
            f = self.path.open("a+b")
            fcntl.flock(f, fcntl.LOCK_EX)
            if self.path.exists() and os.stat(self.path).st_ino == os.fstat(f.fileno()).st_ino:
                return f
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()

    def _last_of_segments(self) -> bytes:
        segments = self.segments()
        if not segments:
            return b""
        with segments[-1].open("rb") as f:
            return _last_line(f)

    def _rotate(self, f: Any) -> Any:
        """Under the lock: the current file becomes a segment; returns the new file, locked."""
        f.seek(0)
        first = json.loads(f.readline())["seq"]
        self.path.rename(self.path.with_name(f"{self.path.name}.{first:012d}"))
        for old in self.segments()[: -(SEGMENTS - 1)]:
            old.unlink()
        new = self._open_locked()
        fcntl.flock(f, fcntl.LOCK_UN)
        f.close()
        return new

    def entries(self) -> Iterator[dict[str, Any]]:
        for path in self.files():
            for line in _lines(path):
                if line.strip():
                    yield json.loads(line)

    def verify(self, head: str | None = None) -> AuditCheck:
        """The chain, across segments; with `head` (a hash published off the device), also
        that the log still reaches it: a cut tail shows as a head the log no longer holds.
        Fails too while the log holds a tamper entry, or does not end at the head the device
        remembers writing last. Appends wait meanwhile: an entry written between reading the
        log and reading the remembered head must not look like a cut."""
        if not self.path.exists():
            return self._verify(head)
        with self._held(fcntl.LOCK_SH):
            return self._verify(head)

    @contextlib.contextmanager
    def _held(self, how: int) -> Iterator[None]:
        """The current file locked (`how`), opened again if it was rotated meanwhile."""
        while True:
            f = self.path.open("a+b")
            fcntl.flock(f, how)
            if self.path.exists() and os.stat(self.path).st_ino == os.fstat(f.fileno()).st_ino:
                break
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()

    def _verify(self, head: str | None) -> AuditCheck:
        prev_hash: str | None = None
        last: dict[str, Any] | None = None
        count, seen_head, number, expected_seq = 0, head is None, 0, None
        for path in self.files():
            for line in _lines(path):
                number += 1
                try:
                    entry = json.loads(line)
                    if not isinstance(entry, dict):
                        raise ValueError("not an object")
                except ValueError:
                    return AuditCheck(False, count, number, "not a JSON object")
                if prev_hash is None and entry.get("seq") != 1:
                    # the oldest kept segment: older ones were rotated away, start from here
                    prev_hash, expected_seq = entry.get("prev"), entry.get("seq")
                expected_seq = expected_seq or 1
                if entry.get("seq") != expected_seq:
                    return AuditCheck(
                        False,
                        count,
                        number,
                        f"sequence {entry.get('seq')}, expected {expected_seq}",
                    )
                if entry.get("prev") != (prev_hash or GENESIS):
                    return AuditCheck(False, count, number, "does not chain to the entry before")
                if entry.get("hash") != entry_hash(entry):
                    return AuditCheck(False, count, number, "content does not match its hash")
                if entry.get("kind") == TAMPER:
                    found = entry.get("data", {}).get("found") or {}
                    return AuditCheck(
                        False,
                        count,
                        number,
                        "the device found the log cut or rewound here (it had written up to "
                        f"seq {entry.get('data', {}).get('expected', {}).get('seq')}, "
                        f"found seq {found.get('seq')})",
                    )
                prev_hash, count, expected_seq = entry["hash"], count + 1, expected_seq + 1
                seen_head, last = seen_head or entry["hash"] == head, entry
        if not seen_head:
            return AuditCheck(
                False, count, None, "the log ends before the published head: entries were cut"
            )
        remembered = self.remembered()
        if remembered is not None and (last is None or last["hash"] != remembered.hash):
            return AuditCheck(
                False,
                count,
                None,
                f"the log does not end where the device last wrote it (seq {remembered.seq})",
            )
        return AuditCheck(ok=True, entries=count)


class RefusalTally:
    """Refused requests and decisions, counted: one audit entry a minute with the counts, not
    one per refusal, so that junk sent in a flood costs the disk almost nothing."""

    def __init__(self, audit: AuditLog, clock: Callable[[], float] = time.time) -> None:
        self.audit, self.clock = audit, clock
        self._minute: int | None = None
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def add(self, kind: str, reason: str) -> None:
        minute = int(self.clock() // 60)
        with self._lock:
            if self._minute is not None and minute != self._minute:
                self._write()
            self._minute = minute
            key = (kind, reason[:120])
            self._counts[key] = self._counts.get(key, 0) + 1

    def flush(self, force: bool = False) -> None:
        """Write the last minute's counts once it is over (or now, at shutdown)."""
        with self._lock:
            if self._minute is not None and (force or int(self.clock() // 60) != self._minute):
                self._write()

    def _write(self) -> None:
        assert self._minute is not None
        counts = [
            {"kind": kind, "reason": reason, "count": n}
            for (kind, reason), n in sorted(self._counts.items())
        ]
        total = sum(self._counts.values())
        self.audit.append(
            "refused", {"minute": iso_utc(self._minute * 60.0), "total": total, "counts": counts}
        )
        self._minute, self._counts = None, {}


def request_entry(request: FootageRequest, by: str, **extra: Any) -> dict[str, Any]:
    """What an entry about a request records: who asked, for what window and why, who acted."""
    data: dict[str, Any] = {
        "request_id": request.request_id,
        "requester": request.requester.model_dump(),
        "window": {
            "start": iso_utc(request.window.start_wall),
            "end": iso_utc(request.window.end_wall),
        },
        "reason": request.reason,
        "by": by,
    }
    data.update(extra)
    return data


def _lines(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as f:
            yield from f
    except FileNotFoundError:  # rotated away between listing and reading
        return


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
