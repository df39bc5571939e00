"""The share worker's passes over a share's files, each in a process of its own, so that the
worker's private memory peaks at what one pass holds, not at what the worst pass left behind
(issue 30: the device's memory may grow by 60 MB at most while it shares):

1. `people` (a device's worker with a person model): the people in every file, found by the
   person detector (the device's, passed in), boxes written to the plan file; which model file
   found them (or why none did) written to the job's report file, for the share's record;
2. `faces`: the faces in every file (the face model), boxes added to the plan;
3. `fill`: the files decoded again, the planned boxes filled, encoded (no model at all).

Each pass ends by replacing its process with the next pass's (`os.execv`: the same process id,
so the device's stop, timeout and parent-death signal reach whichever pass is running; the
memory of a pass's model, imports and heap goes back to the system at that moment). The plan is
a small JSON file of boxes in a directory the device made for the share's job and removes after.
A pass imports only what it needs: OpenCV not for faces, onnxruntime only for faces, the person
detector's runtime only for people.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doorbell.uplink.requests.redaction import Looks, RedactionError, Redactor, look_for_people
from doorbell.uplink.requests.redaction_plan import Box

if TYPE_CHECKING:  # the person pass's alone (the face and fill passes never import it)
    from doorbell.uplink.requests.person_pass import ModelPersonFinder, PersonPass

# What a device's worker builds its person finder with, from the model's path (the device
# chooses the file as it starts, device/redaction/people.py's person_model; the pass checks it
# again as it loads it).
PersonFinderAt = Callable[[Path], "ModelPersonFinder | None"]

FIRST, FACES, FILL = "people", "faces", "fill"

Found = dict[int, list[Box]]


def run(job: dict[str, Any], people: PersonFinderAt | None = None) -> None:
    """The pass `job["stage"]` names (the first when none); it hands over to the next one by
    `os.execv`, so only the last pass returns. Raises RedactionError."""
    files = [(Path(src), Path(dst)) for src, dst in job["files"]]
    sources = [source for source, _ in files]
    model = Path(job["model"]) if job.get("model") else None
    plan = Path(job["plan"])
    stage = job.get("stage") or FIRST
    if stage == FIRST:
        from doorbell.uplink.requests.person_pass import (
            NO_PERSON_MODEL,
            PERSON_MODEL_FAILED,
            PersonPass,
        )

        Redactor(model).check_without_loading()  # a missing face model fails before people
        if people is None or not job.get("people_model"):
            _write(plan, {"people_at": None})
            _report(job, NO_PERSON_MODEL)
            stage = FACES  # faces only: this process has loaded no model, it goes on
        else:
            finder = people(Path(job["people_model"]))
            if finder is None:  # it could not be loaded: faces only, in a fresh process still
                _write(plan, {"people_at": None})
                _report(job, PERSON_MODEL_FAILED)
            else:
                people_at = look_for_people(sources, finder)
                _write(plan, {"people_at": [_boxes_out(found) for found in people_at]})
                # the model it loaded, which may not be the one the job named (a refused int8
                # file: the fp16 one beside it)
                _report(job, PersonPass("covered", finder.model_sha256, finder.weights))
            _next(job, FACES)
    if stage == FACES:
        people_out = _read(plan)["people_at"]
        looks = Redactor(model).look_for_faces(sources)
        if people_out is not None:
            for looked, at in zip(looks, people_out, strict=True):
                looked.people_at = _boxes_in(at)
        _write(plan, {"looks": [_looks_out(found) for found in looks]})
        _next(job, FILL)
    if stage != FILL:
        raise RedactionError(f"the redaction worker has no pass {stage!r}")
    looks = [_looks_in(found) for found in _read(plan)["looks"]]
    Redactor(model).write_files(files, looks)


def _next(job: dict[str, Any], stage: str) -> None:
    """This process becomes the next pass's: the same id, the same niceness, the same
    parent-death signal (kept across exec), a fresh memory."""
    sys.stdout.flush()
    sys.stderr.flush()
    command = [sys.executable, "-m", job["module"], json.dumps({**job, "stage": stage})]
    try:
        os.execv(sys.executable, command)
    except OSError as exc:
        raise RedactionError(
            f"the redaction worker's {stage} pass could not start: {exc}"
        ) from None


def _report(job: dict[str, Any], done: PersonPass) -> None:
    """What the person pass did, for the share's record: in the file the job names (the device
    reads it once the worker has exited 0: WorkerRedactor)."""
    if job.get("report"):
        _write(Path(job["report"]), done.to_json())


def _write(plan: Path, content: dict[str, Any]) -> None:
    try:
        plan.write_text(json.dumps(content), encoding="utf-8")
    except OSError as exc:
        raise RedactionError(f"the redaction's plan could not be written: {exc}") from None


def _read(plan: Path) -> dict[str, Any]:
    try:
        content: dict[str, Any] = json.loads(plan.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RedactionError(f"the redaction's plan could not be read: {exc}") from None
    return content


def _boxes_out(found: Found) -> list[list[Any]]:
    return [[index, [list(box) for box in boxes]] for index, boxes in found.items()]


def _boxes_in(found: list[list[Any]]) -> Found:
    return {int(index): [_box(box) for box in boxes] for index, boxes in found}


def _box(box: list[int]) -> Box:
    x0, y0, x1, y1 = (int(v) for v in box)
    return (x0, y0, x1, y1)


def _looks_out(found: Looks) -> dict[str, Any]:
    return {
        "frames": found.frames,
        "every": found.every,
        "width": found.width,
        "height": found.height,
        "faces_at": _boxes_out(found.faces_at),
        "people_at": None if found.people_at is None else _boxes_out(found.people_at),
    }


def _looks_in(found: dict[str, Any]) -> Looks:
    people_at = found["people_at"]
    return Looks(
        int(found["frames"]),
        int(found["every"]),
        int(found["width"]),
        int(found["height"]),
        _boxes_in(found["faces_at"]),
        None if people_at is None else _boxes_in(people_at),
    )
