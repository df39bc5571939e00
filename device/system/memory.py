"""Give freed memory back to the system, and keep glibc from holding more than it needs.

Frames are a few MB each and are allocated and freed on different threads many times a second.
glibc's allocator keeps such freed blocks mapped (in each thread's arena, and wherever the heap
cannot shrink past a block still in use), so the resident size creeps up to a multiple of what
is live; on a 512 MB Pi that matters. `malloc_trim(0)` returns the free pages of every arena.
Fewer arenas (`limit_malloc_arenas`) leave less of it between trims: glibc gives every thread
that allocates its own, up to 8 per core (issue 31).
"""

from __future__ import annotations

import ctypes
import math
import resource

M_ARENA_MAX = -8  # mallopt's parameter (glibc's malloc.h)


def _libc_function(name: str) -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    # The C library the interpreter itself runs on (CDLL(None)): ctypes.util.find_library
    # would run `ldconfig -p` in a child process at every start to find the same library.
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None


_TRIM = _libc_function("malloc_trim")
_MALLOPT = _libc_function("mallopt")


def limit_malloc_arenas(count: int = 2) -> None:
    """At most `count` malloc arenas from now on (threads share them): called at start-up,
    before the device's threads allocate. A no-op off glibc.

    The device has ~15 threads; at --speed max on 768x576 footage two arenas keep 0.5-1 MB
    less private memory at the peak than one per thread, for the same CPU (interleaved runs,
    issue 31). Lock contention on them is small: the threads that allocate a lot per frame
    (capture, analysis, recording) are few."""
    if _MALLOPT is not None:
        _MALLOPT(M_ARENA_MAX, count)


def release_freed_memory() -> None:
    """Return the allocator's free pages to the system (a no-op off glibc)."""
    if _TRIM is not None:
        _TRIM(0)


def status_mb(field: str, pid: int | str = "self") -> float:
    """A memory field of `/proc/PID/status` (VmRSS, VmHWM, RssAnon...) in MB; NaN where there is
    none (the process has gone, or no /proc)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    """This process's own peak resident set in MB: `VmHWM`, as `ru_maxrss` on Linux also counts
    the high-water mark of whatever process spawned this one (see benchmarks/peak_memory.py)."""
    peak = status_mb("VmHWM")
    if not math.isnan(peak):
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # no /proc; kB on Linux
