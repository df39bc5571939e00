"""A small real filesystem (a tmpfs) for a full disk, and filling it to the last byte: for the
disk-full tests and benchmarks (a real ENOSPC, not a mock). Mounting needs root."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def mount_tmpfs(folder: Path, size: str) -> str | None:
    """Mount a tmpfs of `size` (e.g. "4m") on `folder`; None, or why it cannot be done here."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
            check=False,
            timeout=20,
        )
    except OSError as exc:
        return f"cannot run mount: {exc}"
    return None if done.returncode == 0 else f"cannot mount a tmpfs: {done.stderr.strip()}"


def unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], check=False, timeout=20)


def fill(disk: Path, leave: int = 0, name: str = "filler") -> Path:
    """Take every byte left on `disk` but `leave` with one file (something else on the card:
    retention cannot delete it); returns it."""
    filler = disk / name
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError:
                continue
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler
