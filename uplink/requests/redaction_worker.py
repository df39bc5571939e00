"""Redacting a share's files in a process of its own, at a lower priority: the device's process
keeps its memory (the models, decoder and encoder: all of it goes back to the system as each
pass ends, redaction_stages.py) and its interpreter lock (the camera's threads never wait
behind a Python loop that the scheduler has put aside for being nice).

    python -m doorbell.uplink.requests.redaction_worker \
        '{"model": null, "files": [[src, dst]], "parent": PID, "plan": PATH, "module": NAME,
          "report": PATH}'

Without "plan" (a worker run by hand), every pass runs in the one process, as `Redactor` does.
"report": the file where the person pass writes what it did (the person model it loaded, or
why none ran: `PersonPass`), read by the device for the share's record.

Exit 0: every file done; exit 3: one line on stderr says why not (RedactionError).

The worker goes with the device: `stop()` (the device's shutdown) ends a running one (SIGTERM,
then SIGKILL), and the share is left `sharing` for the next start to retry (ShareStopped); a
device killed outright takes its worker with it (the parent-death signal, Linux).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import sys
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from doorbell.uplink.requests.face_model import model_problem
from doorbell.uplink.requests.redaction import RedactionError, Redactor, ShareStopped
from doorbell.uplink.requests.redaction_stages import PersonFinderAt, run

if TYPE_CHECKING:
    import subprocess

    from doorbell.uplink.requests.person_pass import PersonPass

log = logging.getLogger(__name__)

# subprocess and tempfile are imported where the device starts a worker, not at the top: each
# of the worker's passes imports this module too, and never starts a process (0.6 MB each).

NICENESS = 10  # behind the camera, which runs at 0
FAILED = 3
# A worker that hangs must not leave its request `sharing` for ever: a 20 s 640x480 clip takes
# ~10 s of a core here; up to `requests.max_clips` long clips on a Pi take minutes, not this.
TIMEOUT_SECONDS = 1800.0
# After SIGTERM, how long a worker has before SIGKILL (it holds no state worth a clean exit: its
# half-written copy is made again at the retry).
STOP_GRACE_SECONDS = 2.0
STDERR_LINES = 5  # of what a worker that succeeded wrote on stderr, the last lines logged


class WorkerRedactor:
    """What a share uses (a FileRedactor): the same files in, the same files out, as Redactor,
    done by a worker process, and what its person pass did; nothing of the model is loaded in
    the calling process."""

    def __init__(
        self,
        model_path: Path | None = None,
        timeout: float = TIMEOUT_SECONDS,
        module: str = __name__,
        people_model: Path | None = None,
    ) -> None:
        """`module`: the worker's entry point, run as `python -m module JOB` (a device layer
        passes its own, one that also covers the heads of people whose faces are not found,
        found by the detector at `people_model`)."""
        self.model_path, self.timeout, self.module = model_path, timeout, module
        self.people_model = people_model
        self._lock = threading.Lock()
        self._running: subprocess.Popen[str] | None = None
        self._stopped = False

    def check(self) -> None:
        problem = model_problem(self.model_path)
        if problem is not None:
            raise RedactionError(f"faces cannot be redacted: {problem}")

    def redact_files(self, files: list[tuple[Path, Path]]) -> PersonPass:
        """The files redacted; what the worker's person pass did (which model file it loaded,
        or why none ran), as the worker reported it."""
        import tempfile

        from doorbell.uplink.requests.person_pass import NO_PERSON_MODEL, PersonPass

        if not files:  # nothing to redact: no worker started, and no person model ran
            return NO_PERSON_MODEL
        try:
            plans = tempfile.TemporaryDirectory(prefix="doorbell-redaction-")
        except OSError as exc:
            raise RedactionError(f"no room for the redaction's plan: {exc}") from None
        with plans:  # removed however the worker ends
            report = Path(plans.name) / "person_pass.json"
            self._run(files, Path(plans.name) / "plan.json", report)
            try:
                return PersonPass.from_json(json.loads(report.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:  # a worker that did not say: no record to give
                raise RedactionError(
                    f"the redaction worker did not say what its person pass did ({exc})"
                ) from None

    def _run(self, files: list[tuple[Path, Path]], plan: Path, report: Path) -> None:
        import subprocess

        from doorbell.uplink.requests.person_pass import OWNER_NOTE

        job = {
            "model": str(self.model_path) if self.model_path else None,
            "files": [[str(src), str(dst)] for src, dst in files],
            "parent": os.getpid(),
            "plan": str(plan),  # the boxes one pass hands to the next (redaction_stages.py)
            "report": str(report),  # what the person pass did, for the share's record
            "module": self.module,
            "people_model": str(self.people_model) if self.people_model else None,
        }
        with self._lock:  # no worker starts once stop() has begun
            if self._stopped:
                raise ShareStopped("the device is stopping")
            worker = self._running = subprocess.Popen(
                [sys.executable, "-m", self.module, json.dumps(job)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        try:
            _, stderr = worker.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            worker.kill()  # killed then: the share fails, it is not left hanging
            worker.communicate()
            raise RedactionError(
                f"the redaction worker took over {self.timeout:g} s and was stopped"
            ) from None
        finally:
            with self._lock:
                self._running = None
        if self._stopped:
            raise ShareStopped("the device stopped the redaction worker")
        lines = stderr.strip().splitlines()
        # why something was not as planned (an int8 person model refused, none loaded): the
        # owner's log has every such note however much later passes wrote, whether the worker
        # succeeded or not
        notes = [line for line in lines if line.startswith(OWNER_NOTE)]
        for line in notes:
            log.warning("redaction worker: %s", line)
        if worker.returncode != 0:
            why = lines[-1] if lines else f"the redaction worker exited with {worker.returncode}"
            raise RedactionError(why.removeprefix("redaction: "))
        others = [line for line in lines if not line.startswith(OWNER_NOTE)]
        for line in others[-STDERR_LINES:]:  # done: the last few other lines too
            log.warning("redaction worker: %s", line)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """The device is stopping: the running worker ends (SIGTERM, SIGKILL after `grace`), none
        starts after; the share in progress raises ShareStopped and stays for the next start."""
        with self._lock:
            self._stopped = True
            worker = self._running
        if worker is None:
            return
        import subprocess

        worker.terminate()
        try:
            worker.wait(grace)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

    def release(self) -> None:
        """Nothing held: the worker's memory went with it."""


def die_with_parent(parent: int | None) -> None:
    """This worker gets SIGKILL when the process that started it dies (a device killed with
    SIGKILL cannot stop it); Linux only, elsewhere nothing. `parent` gone already: exit now.
    (Linux sends it when the *thread* that started the worker ends: WorkerRedactor waits for the
    worker in that same thread, so that is when its process dies, or the worker is done.)"""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        return
    if parent is not None and os.getppid() != parent:  # it died before prctl took hold
        raise SystemExit(FAILED)


def be_nice() -> None:
    """At least NICENESS (each pass's process asks again: the same, not ten more each time)."""
    os.nice(max(0, NICENESS - os.nice(0)))


def main(argv: list[str], people: PersonFinderAt | None = None) -> int:
    """Runs one job's pass (and, by exec, the passes after it); `people`: builds what finds
    people, for their heads, from the job's `people_model` (a device's worker)."""
    be_nice()
    job = json.loads(argv[0])
    die_with_parent(job.get("parent"))
    try:
        if job.get("plan"):
            run(job, people)
        else:  # by hand: every pass in this process
            person_model = job.get("people_model")
            factory = partial(people, Path(person_model)) if people and person_model else None
            redactor = Redactor(Path(job["model"]) if job["model"] else None, people=factory)
            redactor.redact_files([(Path(src), Path(dst)) for src, dst in job["files"]])
    except RedactionError as exc:
        print(f"redaction: {exc}", file=sys.stderr)
        return FAILED
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
