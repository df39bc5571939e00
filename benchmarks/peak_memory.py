"""A child process's own peak memory, which `ru_maxrss` does not give.

Linux carries the spawning process's high-water mark across fork and exec into the child's
`ru_maxrss` (`/bin/true` spawned by a 200 MB Python process reports 211 MB), so a benchmark that
has imported OpenCV and PyAV would charge its own size to every program it runs. `VmHWM` in
`/proc/PID/status` belongs to the memory of the program the child exec'd, and only grows: polled
until the child exits, its last value is the child's peak (a rise in the final poll interval
while the program exits is missed).

The peak RSS is two things of different kinds (issue 31): private memory (`RssAnon`: the heap,
the buffers, Python's objects) and pages of files mapped, the shared libraries' code mostly
(`RssFile`), of which how much counts as resident depends on the kernel's page cache, not on the
program. The kernel keeps no high-water mark of either, so each is polled, and its peak is the
highest value a poll saw (a peak shorter than the poll interval can be missed).
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass

POLL_SECONDS = 0.02
FIELDS = ("VmHWM", "RssAnon", "RssFile")


@dataclass
class Peaks:
    """A process's peaks in MB: its RSS (the kernel's VmHWM), and the highest RssAnon and
    RssFile polled (not necessarily at the same moment)."""

    rss_mb: float = 0.0
    anon_mb: float = 0.0
    file_mb: float = 0.0

    def __str__(self) -> str:
        return (
            f"peak RSS {self.rss_mb:.0f} MB (private RssAnon {self.anon_mb:.1f} MB, "
            f"file pages RssFile {self.file_mb:.1f} MB)"
        )


def poll_status(pid: int) -> dict[str, float]:
    """VmHWM, RssAnon and RssFile of `pid` in MB; empty once the process has gone (or is a
    zombie: its memory is gone)."""
    found: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in FIELDS:
                    found[name] = int(value.split()[0]) / 1024
    except OSError:
        return {}
    return found


def wait_with_peaks(proc: subprocess.Popen[bytes]) -> tuple[int, os.struct_rusage, Peaks]:
    """Wait for `proc` to exit; its exit code, its resource usage (CPU times) and its peaks."""
    peaks = Peaks()
    while True:
        now = poll_status(proc.pid)
        peaks.rss_mb = max(peaks.rss_mb, now.get("VmHWM", 0.0))
        peaks.anon_mb = max(peaks.anon_mb, now.get("RssAnon", 0.0))
        peaks.file_mb = max(peaks.file_mb, now.get("RssFile", 0.0))
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage, peaks
        time.sleep(POLL_SECONDS)


def wait_with_peak(proc: subprocess.Popen[bytes]) -> tuple[int, os.struct_rusage, float]:
    """Wait for `proc` to exit; its exit code, its resource usage and its own peak RSS in MB."""
    code, usage, peaks = wait_with_peaks(proc)
    return code, usage, peaks.rss_mb
