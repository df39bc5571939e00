"""One device per data directory: an exclusive `flock` on the data dir's lock file, held for as
long as the process runs (the kernel lets go when it exits, however it exits). Two devices on one
data dir would share the index, the outbox and the control socket, and take turns kicking each
other off the broker under the same client id."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class DataDirInUse(Exception):
    """Another process holds the lock; the message names it."""


class DataDirLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise DataDirInUse naming the PID that holds it."""
        file = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            pid = file.read().strip() or "unknown"
            file.close()
            raise DataDirInUse(
                f"{self.path.parent} is in use by another doorbell (PID {pid}); "
                "one device per data directory"
            ) from None
        pid_line = f"{os.getpid()}\n".encode()
        try:  # over the old PID, then cut to length: on a full disk the old bytes' block is reused
            os.pwrite(file.fileno(), pid_line, 0)
            os.ftruncate(file.fileno(), len(pid_line))
        except OSError:  # a full disk and no old PID: the lock holds all the same, unnamed
            pass
        self._file = file

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
