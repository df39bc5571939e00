"""This process's private memory (`RssAnon`) by kind, read from inside it (issue 31, round 5).

The kinds, in MB:
- `libraries`: the pages of the libraries' own files that the process has written to, so that
  they are its own copies (the dynamic loader's relocations of `.data.rel.ro` and the GOT,
  `.data`, the `.bss` touched): `Anonymous` of file mappings in `/proc/self/smaps`, which the
  kernel counts in RssAnon. By file in `by_file`;
- `python_arenas`: Python's small-object allocator (objects of up to 512 bytes: most of a
  module's functions, names, tuples) in 1 MB arenas, as `sys._debugmallocstats` counts them;
  `python_objects` is what of them is in use;
- `malloc_live`, `malloc_free`: glibc malloc's blocks in use (Python's larger objects: module
  dicts, code, long strings; the C libraries' own: numpy's data, the codecs' buffers) and the
  free ones it keeps mapped (`mallinfo2`);
- `stacks`: the main thread's stack and the threads' (8 MB reservations, what is touched);
- `rest`: whatever is left (other anonymous mappings). The arenas and malloc's mapped blocks
  are counted whole, touched or not, so it can be a little below zero.
"""

from __future__ import annotations

import collections
import ctypes
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$")
MB = 2.0**20
THREAD_STACK = 8 * 2**20
MALLINFO2 = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks")
MALLINFO2 += ("fordblks", "keepcost")  # glibc's struct mallinfo2, in order


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2]


_LIBC = ctypes.CDLL(None)
_LIBC.mallinfo2.restype = _MallInfo2


@dataclass
class Kinds:
    anon: float = 0.0
    libraries: float = 0.0
    python_arenas: float = 0.0
    python_objects: float = 0.0
    malloc_live: float = 0.0
    malloc_free: float = 0.0
    stacks: float = 0.0
    by_file: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def rest(self) -> float:
        known = self.libraries + self.python_arenas + self.malloc_live + self.malloc_free
        return self.anon - known - self.stacks

    def row(self) -> str:
        return (
            f"{self.anon:6.1f} | {self.libraries:5.1f} | {self.python_arenas:5.1f} "
            f"({self.python_objects:4.1f}) | {self.malloc_live:5.1f} | {self.malloc_free:4.1f} | "
            f"{self.stacks:4.1f} | {self.rest:5.1f}"
        )

    def minus(self, other: Kinds) -> str:
        """The row's figures added since `other`."""
        return (
            f"{self.anon - other.anon:+6.1f} | {self.libraries - other.libraries:+5.1f} | "
            f"{self.python_arenas - other.python_arenas:+5.1f} "
            f"({self.python_objects - other.python_objects:+4.1f}) | "
            f"{self.malloc_live - other.malloc_live:+5.1f} | "
            f"{self.malloc_free - other.malloc_free:+4.1f} | "
            f"{self.stacks - other.stacks:+4.1f} | {self.rest - other.rest:+5.1f}"
        )


HEADER = (
    "RssAnon | libraries' pages | Python's arenas (objects in them) | malloc live | "
    "malloc free | stacks | rest"
)


def _python_arenas() -> tuple[float, float]:
    """Python's object arenas allocated and the bytes of objects in them, in MB:
    `sys._debugmallocstats` writes them to the C stderr, borrowed for the moment."""
    with tempfile.TemporaryFile() as out:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if value.strip().replace(",", "").isdigit():
            values[name.strip()] = int(value.strip().replace(",", ""))
    arenas = values.get("# arenas allocated current", 0) * 2**20  # 1 MB arenas (3.10+)
    return arenas / MB, values.get("# bytes in allocated blocks", 0) / MB


def measure() -> Kinds:
    """This process's private memory now, by kind."""
    kinds = Kinds()
    name, size = "", 0
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            found = MAPPING.match(line)
            if found:
                start, end, name = found.groups()
                size = int(end, 16) - int(start, 16)
                continue
            if not line.startswith("Anonymous:"):
                continue
            mb = int(line.split()[1]) / 1024
            kinds.anon += mb
            if name.startswith("/"):
                kinds.libraries += mb
                kinds.by_file[name] += mb
            elif name.startswith("[stack") or size in (THREAD_STACK, THREAD_STACK + 4096):
                kinds.stacks += mb
    info = _LIBC.mallinfo2()
    kinds.malloc_live = (info.uordblks + info.hblkhd) / MB
    kinds.malloc_free = info.fordblks / MB
    kinds.python_arenas, kinds.python_objects = _python_arenas()
    return kinds


def library_of(path: str) -> str:
    """Which installed package a mapped file came with: `av.libs/libavcodec...` is PyAV's
    FFmpeg, `opencv_python_headless.libs/...` OpenCV's own."""
    parts = Path(path).parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1 :][-2:])
    return Path(path).name
