"""The benchmarks' peak memory of a child is the child's own, not the benchmark's.

Linux's `ru_maxrss` of a child includes the spawner's high-water mark (fork copies it, exec keeps
it), so a benchmark that has grown large would report its own size for every program it runs.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

from benchmarks.peak_memory import wait_with_peak, wait_with_peaks
from doorbell.device.system.memory import peak_rss_mb, status_mb

CHILD_MB = 40
# The child holds CHILD_MB for a while, so the poll sees it before the child exits.
CHILD = (
    f"import time\nbuf = bytearray({CHILD_MB} * 2**20)\n"
    "buf[::4096] = b'x' * len(buf[::4096])\ntime.sleep(0.5)"
)


def test_a_childs_peak_is_its_own_not_its_spawners() -> None:
    ballast = bytearray(300 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])  # this process's high-water mark over 300 MB
    assert peak_rss_mb() > 300
    proc = subprocess.Popen([sys.executable, "-c", CHILD])
    code, usage, peak = wait_with_peak(proc)
    del ballast
    assert code == 0
    assert usage.ru_maxrss / 1024 > 300  # what the child's rusage says: the spawner's size
    assert CHILD_MB < peak < CHILD_MB + 60  # the child's own: its buffer and an interpreter


def test_status_of_a_process_that_has_gone_is_nan() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert math.isnan(status_mb("VmHWM", proc.pid))


def test_the_device_can_give_freed_memory_back_on_glibc() -> None:
    import platform

    from doorbell.device.system import memory

    if platform.libc_ver()[0] != "glibc":
        return  # musl, macOS: nothing to trim, and release_freed_memory is a no-op
    assert memory._TRIM is not None
    memory.release_freed_memory()


# Six threads alive at once, each allocating with malloc; then glibc's own count of arenas.
ARENAS = """
import ctypes, sys, threading
from doorbell.device.system.memory import limit_malloc_arenas
if sys.argv[1] == "limited":
    limit_malloc_arenas(2)
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
together = threading.Barrier(6)
def allocate():
    libc.malloc(4096)  # a thread's arena is chosen at its first malloc
    together.wait()
threads = [threading.Thread(target=allocate) for _ in range(6)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc.malloc_stats()  # "Arena N:" per arena, on stderr
"""


def test_the_device_limits_malloc_arenas_on_glibc() -> None:
    """glibc gives each thread an arena of its own (up to 8 a core), whose pages stay between
    trims; the device asks for two at start-up (`doorbell run`)."""
    import platform

    if platform.libc_ver()[0] != "glibc":
        return  # musl, macOS: a no-op

    def arenas(case: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", ARENAS, case], capture_output=True, text=True, check=True
        )
        return done.stderr.count("Arena ")

    assert arenas("limited") <= 2 < arenas("default")


def test_private_memory_and_file_pages_are_measured_apart(tmp_path: Path) -> None:
    """A child that holds CHILD_MB of its own memory peaks in RssAnon; one that reads a file of
    CHILD_MB through mmap peaks in RssFile: neither is counted as the other."""
    data = tmp_path / "pages"
    data.write_bytes(b"x" * (CHILD_MB * 2**20))
    mapped = (
        f"import mmap, time\nf = open({str(data)!r}, 'rb')\n"
        "m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\n"
        "total = sum(m[i] for i in range(0, len(m), 4096))\ntime.sleep(0.5)"
    )
    _, _, own = wait_with_peaks(subprocess.Popen([sys.executable, "-c", CHILD]))
    _, _, files = wait_with_peaks(subprocess.Popen([sys.executable, "-c", mapped]))
    assert CHILD_MB < own.anon_mb < CHILD_MB + 30
    assert own.file_mb < CHILD_MB
    assert CHILD_MB < files.file_mb < CHILD_MB + 30
    assert files.anon_mb < CHILD_MB
    assert own.rss_mb >= own.anon_mb and files.rss_mb >= files.file_mb
