"""Fragmented MP4 as building blocks: an init segment and one fragment per GOP.

The device encodes its main stream continuously into fragmented MP4 (a fragment starts at each
keyframe). A clip is then the init segment followed by consecutive fragments, copied as bytes:
no raw frames kept for pre-roll, no re-encoding, and a clip cut short by a crash still plays up to
its last complete fragment. Each copied fragment's decode time is shifted so a clip starts at 0.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass
class Fragment:
    data: bytearray  # moof + mdat
    frames: int = 0
    first_t: float = 0.0  # frame time of its keyframe


def _boxes(data: bytes | bytearray, start: int = 0, end: int | None = None):  # type: ignore[no-untyped-def]
    """Yield (type, offset, size) of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        if size < header or pos + size > end:
            return
        yield kind.decode("latin-1"), pos, size
        pos += size


def _tfdt_boxes(fragment: bytes | bytearray):  # type: ignore[no-untyped-def]
    """Offsets of the tfdt (track fragment decode time) boxes: moof > traf > tfdt."""
    for kind, pos, size in _boxes(fragment):
        if kind != "moof":
            continue
        for kind2, pos2, size2 in _boxes(fragment, pos + 8, pos + size):
            if kind2 == "traf":
                for kind3, pos3, _ in _boxes(fragment, pos2 + 8, pos2 + size2):
                    if kind3 == "tfdt":
                        yield pos3


def _read_time(fragment: bytes | bytearray, pos: int) -> tuple[str, int]:
    # version 1: 64-bit baseMediaDecodeTime, version 0: 32-bit
    layout = ">Q" if fragment[pos + 8] == 1 else ">I"
    return layout, int(struct.unpack_from(layout, fragment, pos + 12)[0])


def shift_decode_time(fragment: bytearray, offset: int) -> None:
    """Subtract `offset` from the baseMediaDecodeTime (tfdt) of each track run, in place."""
    for pos in _tfdt_boxes(fragment):
        layout, value = _read_time(fragment, pos)
        struct.pack_into(layout, fragment, pos + 12, max(0, value - offset))


def decode_time(fragment: bytes | bytearray) -> int:
    for pos in _tfdt_boxes(fragment):
        return _read_time(fragment, pos)[1]
    return 0


class BoxStream:
    """A write-only file for PyAV's MP4 muxer that cuts what it writes into top-level boxes:
    the init segment (ftyp + moov) and complete fragments (moof + mdat)."""

    def __init__(self) -> None:
        self.init = bytearray()
        self._buffer = bytearray()
        self._moof: bytearray | None = None
        self.completed: list[bytearray] = []  # fragments finished since last taken

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= 8:
            size, kind = struct.unpack_from(">I4s", self._buffer, 0)
            if size == 1 and len(self._buffer) >= 16:
                size = struct.unpack_from(">Q", self._buffer, 8)[0]
            if size < 8 or len(self._buffer) < size:
                break
            box = self._buffer[:size]
            del self._buffer[:size]
            name = kind.decode("latin-1")
            if name in ("ftyp", "moov"):
                self.init += box
            elif name == "moof":
                self._moof = bytearray(box)
            elif name == "mdat" and self._moof is not None:
                self.completed.append(self._moof + box)
                self._moof = None
            # mfra and other trailing boxes are not needed by a fragmented clip
        return len(data)

    def tell(self) -> int:
        return 0

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        pass

    def take(self) -> list[bytearray]:
        done, self.completed = self.completed, []
        return done
