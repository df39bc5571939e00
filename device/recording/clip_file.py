"""One clip being written: init segment, then fragments, under a temporary name until done."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from doorbell.device.recording.fragments import Fragment, decode_time, shift_decode_time

PARTIAL = ".partial"


class ClipFile:
    def __init__(self, path: Path, init_segment: bytes, first_fragment: Fragment) -> None:
        self.path = path
        self.partial = path.with_name(path.name + PARTIAL)
        self._file = self.partial.open("wb")
        self._hash = hashlib.sha256()
        self._offset = decode_time(first_fragment.data)
        self.first_t = first_fragment.first_t
        self.frames = 0
        self.bytes = 0
        self._write(init_segment)

    def _write(self, data: bytes | bytearray) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.bytes += len(data)

    def append(self, fragment: Fragment) -> None:
        data = bytearray(fragment.data)  # the ring keeps its own copy, unshifted
        shift_decode_time(data, self._offset)
        self._write(data)
        self._file.flush()  # a crash keeps every fragment written so far
        self.frames += fragment.frames

    def finish(self) -> str:
        """fsync, rename to the final name; returns the sha256."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self.partial.replace(self.path)
        return self._hash.hexdigest()

    def abandon(self) -> None:
        """A write failed (a full disk): drop what there is."""
        with contextlib.suppress(OSError):
            self._file.close()
        self.partial.unlink(missing_ok=True)
