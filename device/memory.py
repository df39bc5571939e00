"""Give freed memory back to the system.

Frames are a few MB each and are allocated and freed on different threads many times a second.
glibc's allocator keeps such freed blocks mapped (in each thread's arena, and wherever the heap
cannot shrink past a block still in use), so the resident size creeps up to a multiple of what
is live; on a 512 MB Pi that matters. `malloc_trim(0)` returns the free pages of every arena.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import resource


def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None


_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    """Return the allocator's free pages to the system (a no-op off glibc)."""
    if _TRIM is not None:
        _TRIM(0)


def peak_rss_mb() -> float:
    """This process's own peak resident set in MB: `VmHWM`, as `ru_maxrss` on Linux also counts
    the high-water mark of whatever process spawned this one (see benchmarks/peak_memory.py)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux; no /proc
