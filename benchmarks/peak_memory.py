"""A child process's own peak resident set, which `ru_maxrss` does not give.

Linux carries the spawning process's high-water mark across fork and exec into the child's
`ru_maxrss` (`/bin/true` spawned by a 200 MB Python process reports 211 MB), so a benchmark that
has imported OpenCV and PyAV would charge its own size to every program it runs. `VmHWM` in
`/proc/PID/status` belongs to the memory of the program the child exec'd, and only grows: polled
until the child exits, its last value is the child's peak (a rise in the final poll interval
while the program exits is missed).
"""

from __future__ import annotations

import math
import os
import subprocess
import time

from doorbell.device.system.memory import status_mb

POLL_SECONDS = 0.02


def wait_with_peak(proc: subprocess.Popen[bytes]) -> tuple[int, os.struct_rusage, float]:
    """Wait for `proc` to exit; its exit code, its resource usage (CPU times) and its own peak
    RSS in MB."""
    peak = 0.0
    while True:
        hwm = status_mb("VmHWM", proc.pid)  # NaN once the child is a zombie: its memory is gone
        if not math.isnan(hwm):
            peak = max(peak, hwm)
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage, peak
        time.sleep(POLL_SECONDS)
