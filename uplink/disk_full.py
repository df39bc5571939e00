"""What a full disk looks like, whichever writer meets it: one exception type for all of them.

A file write fails with `OSError` ENOSPC (or EDQUOT over a quota, EFBIG over a file size limit);
SQLite says
`sqlite3.OperationalError: database or disk is full` (SQLITE_FULL). The index, the outbox and the
other stores turn the second into `DiskFull`, an `OSError` with errno ENOSPC, so that every caller
handles a full card in one `except OSError` whether a file or a database met it.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

# EFBIG: a file size limit (RLIMIT_FSIZE) is, for the one writing, a disk that is full
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class DiskFull(OSError):
    """The disk (or the user's quota) is full; raised in place of SQLite's SQLITE_FULL."""

    def __init__(self, what: str) -> None:
        super().__init__(errno.ENOSPC, f"{what}: database or disk is full")


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in FULL_ERRNOS
    if isinstance(exc, sqlite3.Error):
        # SQLITE_IOERR_WRITE and friends carry ENOSPC only in their text; SQLITE_FULL is the rule
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
            "database or disk is full" in str(exc)
        )
    return False


@contextmanager
def full_disk_as_oserror(what: str) -> Iterator[None]:
    """Around SQLite writes: a full disk leaves as `DiskFull` (an OSError); the rest unchanged."""
    try:
        yield
    except sqlite3.Error as exc:
        if is_disk_full(exc):
            raise DiskFull(what) from exc
        raise
