"""The share worker runs each pass in a process of its own (issue 30: the worker's private peak
is one pass's, not what the passes before it left): people, then faces, then the fill, the next
pass's process replacing the last one's (same pid, so the device's stop and the parent-death
signal still reach it), each loading only its own model's runtime (and none the request
machinery's pydantic models or SQLite store), each at the worker's one
niceness; and the people found in the first pass are filled by the last. Real processes on
real footage; the worker is watched through /proc while it runs, not stubbed."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

import cv2
import pytest

from doorbell.device.redaction import WORKER
from doorbell.device.redaction.people import person_model
from doorbell.uplink.requests.redaction_worker import NICENESS, WorkerRedactor
from tests.test_redaction_people import HEADS, JPEG_NOISE, WALKERS, flat, frames_of, needs_models
from tests.test_redaction_worker import workers_of

# By the library each maps: the models' runtimes, each pass its own; and what the request
# machinery needs (pydantic's models, SQLite's store), which no pass does.
RUNTIMES = {
    "people": "litert",
    "faces": "onnxruntime",
    "opencv": "/cv2/",  # the person pass resizes with it, the fill draws; not the face pass
    "pydantic": "pydantic_core",
    "sqlite": "_sqlite3",
}


def watch(
    parent: int, seen: dict[str, set[str]], niceness: dict[str, int], done: threading.Event
) -> None:
    """What each pass of `parent`'s worker has loaded, and its niceness (the highest seen: the
    first pass starts at its parent's, then lowers its own priority), until `done`."""
    found: list[int] = []
    while not found and not done.is_set():
        found = workers_of(parent)
        done.wait(0.002)
    while found and not done.is_set():  # one worker: the same process through its passes
        try:
            argv = Path(f"/proc/{found[0]}/cmdline").read_bytes().decode().split("\0")
            job = json.loads(argv[argv.index(WORKER) + 1])
            maps = Path(f"/proc/{found[0]}/maps").read_text()
            stat = Path(f"/proc/{found[0]}/stat").read_text()
        except (OSError, ValueError, IndexError):  # gone, or between two passes
            done.wait(0.002)
            continue
        stage, nice = job.get("stage") or "people", int(stat.rpartition(")")[2].split()[16])
        seen.setdefault(stage, set()).update(
            name for name, library in RUNTIMES.items() if library in maps
        )
        niceness[stage] = max(niceness.get(stage, nice), nice)
        done.wait(0.002)


@needs_models
def test_each_pass_is_a_process_of_its_own_and_hands_its_boxes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = tmp_path / "snap.jpg"
    cv2.imwrite(str(snapshot), frames_of(WALKERS)[0][:, :, ::-1])
    plans = tmp_path / "plans"
    plans.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(plans))
    seen: dict[str, set[str]] = {}
    niceness: dict[str, int] = {}
    done = threading.Event()
    watcher = threading.Thread(target=watch, args=(os.getpid(), seen, niceness, done))
    watcher.start()
    try:
        WorkerRedactor(module=WORKER, people_model=person_model()).redact_files(
            [(WALKERS, tmp_path / "a.mp4"), (snapshot, tmp_path / "b.jpg")]
        )
    finally:
        done.set()
        watcher.join()

    assert seen == {"people": {"people", "opencv"}, "faces": {"faces"}, "fill": {"opencv"}}
    assert niceness == {stage: max(os.nice(0), NICENESS) for stage in seen}  # not 10 more a pass
    assert list(plans.iterdir()) == []  # the plan of boxes went with the job
    # the people found in the first pass reached the fill, in every frame and in the snapshot
    after = frames_of(tmp_path / "a.mp4")
    left = [(k, x, y) for k, heads in HEADS.items() for x, y in heads if not flat(after[k], x, y)]
    assert left == []
    snap = cv2.imread(str(tmp_path / "b.jpg"))[:, :, ::-1]
    assert [(x, y) for x, y in HEADS[0] if not flat(snap, x, y, noise=JPEG_NOISE)] == []
