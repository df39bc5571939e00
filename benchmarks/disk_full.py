"""The outbox's reserve for a full disk, measured on a real small filesystem (a tmpfs; needs
root): for each reserve size, alerts stored after the disk is full (real `event` messages, one
transaction each, as the device stores them), after a restart too, what the reserve costs on the
disk, and how long growing it takes at the first start.

    .venv/bin/python benchmarks/disk_full.py [--size 8m]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from doorbell.uplink.messages import ClipRef, EventMessage
from doorbell.uplink.outbox import Outbox
from tests.support.small_disk import fill, mount_tmpfs, unmount

ALERT = EventMessage(
    id="6f1c1b8e-3f0e-4c1e-9a59-0d7d3c3f8a21",
    device="porch",
    type="motion",
    state="end",
    start="2026-12-06T09:00:00.000+00:00",
    end="2026-12-06T09:00:12.000+00:00",
    score=3.25,
    boxes=[[0.41, 0.22, 0.18, 0.55]],
    zones=["path"],
    clip=ClipRef(
        file="clips/6f1c1b8e-3f0e-4c1e-9a59-0d7d3c3f8a21.mp4",
        seconds=21.0,
        bytes=1679299,
        sha256="9" * 64,
    ),
).model_dump_json()


def stored_until_full(box: Outbox) -> int:
    n = 0
    while n < 1_000_000:
        try:
            box.add("doorbell/porch/event", ALERT, "application/json")
        except OSError:
            return n
        n += 1
    return n


def measure(disk: Path, reserve: int) -> dict[str, float]:
    for old in disk.iterdir():
        old.unlink()
    started = time.perf_counter()
    box = Outbox(disk / "outbox.sqlite", reserve_bytes=reserve)
    opened = time.perf_counter() - started
    cost = sum(p.stat().st_size for p in disk.iterdir())
    fill(disk)
    first = stored_until_full(box)
    box.close()
    box = Outbox(disk / "outbox.sqlite", reserve_bytes=reserve)  # a restart on the full disk
    after_restart = stored_until_full(box)
    box.close()
    return {
        "reserve_kib": reserve / 1024,
        "outbox_files_kib": cost / 1024,
        "first_open_ms": opened * 1000,
        "alerts_stored_when_full": first,
        "more_after_restart": after_restart,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="8m", help="the tmpfs's size (default 8m)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        disk = Path(tmp) / "card"
        why = mount_tmpfs(disk, args.size)
        if why is not None:
            print(f"{why} (root is needed)")
            return 1
        try:
            print(f"alert message: {len(ALERT)} bytes; filesystem: tmpfs of {args.size}")
            print("reserve KiB | outbox files KiB | first open ms | stored when full | +restart")
            for reserve in (0, 64 << 10, 256 << 10, 1 << 20):
                row = measure(disk, reserve)
                print(
                    f"{row['reserve_kib']:11.0f} | {row['outbox_files_kib']:16.0f} | "
                    f"{row['first_open_ms']:13.0f} | {row['alerts_stored_when_full']:16d} | "
                    f"{row['more_after_restart']:8d}"
                )
        finally:
            unmount(disk)
    return 0


if __name__ == "__main__":
    sys.exit(main())
