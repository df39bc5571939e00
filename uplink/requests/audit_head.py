"""The audit log's newest entry (seq, hash, prev): remembered beside the log by whoever wrote it
(`audit-head.json`), so a log that no longer ends there is noticed, and published off the device
on `<base>/audit/head`, so a subscriber notices a rewind (uplink/requests/audit.py)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class AuditHead:
    seq: int
    hash: str
    prev: str

    @classmethod
    def of(cls, entry: dict[str, Any]) -> AuditHead:
        return cls(int(entry["seq"]), str(entry["hash"]), str(entry["prev"]))

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "prev": self.prev}


UNREADABLE = AuditHead(-1, "unreadable", "")  # a damaged head file: it matches no log


def read_head(path: Path) -> AuditHead | None:
    """The head remembered in `path`; None if none was ever written."""
    try:
        return AuditHead.of(json.loads(path.read_bytes()))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return UNREADABLE


def write_head(path: Path, head: AuditHead) -> None:
    """Atomically, and on disk before the caller goes on (it holds the log's lock)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    with temp.open("wb") as out:
        out.write(json.dumps(head.to_json()).encode())
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
