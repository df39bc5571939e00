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
    the init segment (ftyp + moov) and complete fragments (moof + mdat).

    The muxer writes a fragment's mdat in small pieces; each box is copied once into a buffer of
    its exact size (from its header), and an mdat straight after its moof's bytes, so a fragment
    is one allocation the size of its GOP. Gathering the pieces first, then slicing the box out
    and joining it to its moof held three copies of a GOP at once (issue 31: ~1 MB at 768x576,
    2 Mbit/s and 2 s between keyframes; 3 x 6 MB with keyframes 25 s apart)."""

    def __init__(self) -> None:
        self.init = bytearray()
        self._header = bytearray()  # the start of a box whose header is not complete yet
        self._box: bytearray | None = None  # the box being filled, its full size allocated
        self._name = ""
        self._filled = 0  # bytes of `_box` written so far
        self._moof: bytearray | None = None
        self.completed: list[bytearray] = []  # fragments finished since last taken

    def write(self, data: bytes) -> int:
        view, pos = memoryview(data), 0
        while pos < len(view):
            if self._box is None:
                pos = self._read_header(view, pos)
                continue
            take = min(len(self._box) - self._filled, len(view) - pos)
            self._box[self._filled : self._filled + take] = view[pos : pos + take]
            self._filled += take
            pos += take
            if self._filled == len(self._box):
                self._box_done()
        return len(data)

    def _read_header(self, view: memoryview, pos: int) -> int:
        """Take header bytes from `view` at `pos`; once a box's header is whole, allocate the
        box (an mdat: its moof followed by room for it). Returns the position read up to."""
        need = 16 if len(self._header) >= 8 and self._header[:4] == b"\0\0\0\1" else 8
        take = min(need - len(self._header), len(view) - pos)
        self._header += view[pos : pos + take]
        if len(self._header) < need:
            return pos + take
        size, kind = struct.unpack_from(">I4s", self._header, 0)
        if size == 1:
            if need == 8:  # a 64-bit size follows
                return pos + take
            size = struct.unpack_from(">Q", self._header, 8)[0]
        if size < need:  # not a box this parser can follow: what comes after is unreadable
            return len(view)
        self._name = kind.decode("latin-1")
        if self._name == "mdat" and self._moof is not None:
            box = bytearray(len(self._moof) + size)  # moof then mdat: the fragment, at once
            box[: len(self._moof)] = self._moof
            self._filled, self._moof = len(self._moof), None
        else:
            box, self._filled = bytearray(size), 0
        box[self._filled : self._filled + need] = self._header
        self._filled += need
        self._box, self._header = box, bytearray()
        if self._filled == len(box):
            self._box_done()
        return pos + take

    def _box_done(self) -> None:
        box, name, self._box = self._box, self._name, None
        assert box is not None
        if name in ("ftyp", "moov"):
            self.init += box
        elif name == "moof":
            self._moof = box
        elif name == "mdat" and box[4:8] == b"moof":
            self.completed.append(box)
        # mfra and other trailing boxes are not needed by a fragmented clip

    @property
    def pending(self) -> int:
        """Bytes written and not yet in a finished box (the fragment being written, mostly)."""
        return len(self._header) + (self._filled if self._box is not None else 0)

    def tell(self) -> int:
        return 0

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        pass

    def take(self) -> list[bytearray]:
        done, self.completed = self.completed, []
        return done
