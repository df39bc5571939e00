"""Redacting a share's files in a process of its own, at a lower priority: the device's process
keeps its memory (the face model, decoder and encoder cost ~85 MB at 640x480: all of it goes
back to the system when the worker exits) and its interpreter lock (the camera's threads never
wait behind a Python loop that the scheduler has put aside for being nice).

    python -m doorbell.uplink.requests.redaction_worker '{"model": null, "files": [[src, dst]]}'

Exit 0: every file done; exit 3: one line on stderr says why not (RedactionError).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from doorbell.uplink.requests.face_model import model_problem
from doorbell.uplink.requests.redaction import RedactionError

NICENESS = 10  # behind the camera, which runs at 0
FAILED = 3
# A worker that hangs must not leave its request `sharing` for ever: a 20 s 640x480 clip takes
# ~10 s of a core here; up to `requests.max_clips` long clips on a Pi take minutes, not this.
TIMEOUT_SECONDS = 1800.0


class WorkerRedactor:
    """What a share uses: the same files in, the same files out, as Redactor, done by a worker
    process; nothing of the model is loaded in the calling process."""

    def __init__(self, model_path: Path | None = None, timeout: float = TIMEOUT_SECONDS) -> None:
        self.model_path, self.timeout = model_path, timeout

    def check(self) -> None:
        problem = model_problem(self.model_path)
        if problem is not None:
            raise RedactionError(f"faces cannot be redacted: {problem}")

    def redact_files(self, files: list[tuple[Path, Path]]) -> None:
        if not files:
            return
        job = {
            "model": str(self.model_path) if self.model_path else None,
            "files": [[str(src), str(dst)] for src, dst in files],
        }
        try:
            done = subprocess.run(
                [sys.executable, "-m", __name__, json.dumps(job)],
                capture_output=True,
                text=True,
                check=False,
                stdin=subprocess.DEVNULL,
                timeout=self.timeout,  # killed then: the share fails, it is not left hanging
            )
        except subprocess.TimeoutExpired:
            raise RedactionError(
                f"the redaction worker took over {self.timeout:g} s and was stopped"
            ) from None
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            why = lines[-1] if lines else f"the redaction worker exited with {done.returncode}"
            raise RedactionError(why.removeprefix("redaction: "))

    def release(self) -> None:
        """Nothing held: the worker's memory went with it."""


def main(argv: list[str]) -> int:
    os.nice(NICENESS)
    from doorbell.uplink.requests.redaction import Redactor  # after nice: loading costs too

    job = json.loads(argv[0])
    redactor = Redactor(Path(job["model"]) if job["model"] else None)
    try:
        redactor.redact_files([(Path(src), Path(dst)) for src, dst in job["files"]])
    except RedactionError as exc:
        print(f"redaction: {exc}", file=sys.stderr)
        return FAILED
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
