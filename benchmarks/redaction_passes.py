"""The share worker as a device runs it (issue 30): WorkerRedactor with the device's worker
module, each pass (people, faces, fill) a process of its own, watched from outside: each pass's
peak private memory (RssAnon, polled every 5 ms: the libraries' file pages are shared with the
device's) and peak RSS, and the CPU time of all of them. Used by benchmarks/redaction.py and
redaction_people.py; run alone, it redacts one clip:

    .venv/bin/python benchmarks/redaction_passes.py CLIP [--faces-only]
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from doorbell.device.redaction import WORKER
from doorbell.device.redaction.people import person_model
from doorbell.uplink.requests.redaction_worker import WorkerRedactor

POLL_SECONDS = 0.005


@dataclass
class PassesRun:
    cpu: float = 0.0  # user + system seconds of the worker's processes
    wall: float = 0.0
    anon_peak: dict[str, float] = field(default_factory=dict)  # by pass, MB
    rss_peak: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        passes = ", ".join(
            f"{name} {self.anon_peak[name]:.1f} MB (RSS {self.rss_peak[name]:.0f})"
            for name in ("people", "faces", "fill")
            if name in self.anon_peak
        )
        return (
            f"{self.cpu:.1f} s of CPU ({self.wall:.1f} s wall); each pass's peak private memory "
            f"(RssAnon): {passes}; worst {max(self.anon_peak.values()):.1f} MB"
        )


def worker_of(parent: int) -> int | None:
    """`parent`'s redaction worker: the same process through all its passes (exec)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == parent and WORKER.encode() in argv:
            return int(entry.name)
    return None


def stage_of(pid: int, first: str) -> str | None:
    """The pass a worker runs, from the job on its command line (None: it is gone)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        job = json.loads(argv[argv.index(WORKER) + 1])
    except (OSError, ValueError, IndexError):  # gone, or between exec and its new command line
        return None
    return str(job.get("stage") or first)


def _status_mb(pid: int) -> tuple[float, float] | None:
    """RssAnon and VmRSS in MB; None: gone."""
    found = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                key = line.split(":")[0]
                if key in ("RssAnon", "VmRSS"):
                    found[key] = int(line.split()[1]) / 1024
    except OSError:
        return None
    return (found["RssAnon"], found["VmRSS"]) if len(found) == 2 else None


def redact(files: list[tuple[Path, Path]], people: bool) -> PassesRun:
    run = PassesRun()
    done = threading.Event()
    # without people, the first process is the face pass (nothing to hand over before it)
    first = "people" if people else "faces"

    def poll() -> None:
        pid = None
        while pid is None and not done.is_set():
            pid = worker_of(os.getpid())
            time.sleep(POLL_SECONDS)
        while pid is not None and not done.is_set():
            stage, memory = stage_of(pid, first), _status_mb(pid)
            if stage is not None and memory is not None:
                anon, rss = memory
                run.anon_peak[stage] = max(run.anon_peak.get(stage, 0.0), anon)
                run.rss_peak[stage] = max(run.rss_peak.get(stage, 0.0), rss)
            time.sleep(POLL_SECONDS)

    model = person_model() if people else None
    if people and model is None:
        raise SystemExit("no person model: ./dev.sh install")
    redactor = WorkerRedactor(module=WORKER, people_model=model)
    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    before, started = os.times(), time.perf_counter()
    try:
        redactor.redact_files(files)
    finally:
        done.set()
        watcher.join()
    after = os.times()
    run.wall = time.perf_counter() - started
    run.cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("--faces-only", action="store_true")
    args = parser.parse_args()
    target = Path("/tmp") / f"redacted-{os.getpid()}.mp4"
    try:
        print(redact([(args.clip, target)], people=not args.faces_only).line())
    finally:
        target.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
