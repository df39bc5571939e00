"""The redaction worker goes with the device: a device told to stop (SIGTERM) ends its running
worker, and the share is left `sharing`, neither failed nor sent, for the next start to finish;
a process killed outright (SIGKILL) takes its worker with it. Real processes, real signals: the
worker is frozen (SIGSTOP) once found, standing for a long clip still being redacted, so the
test does not race it (a frozen process ignores SIGTERM: the device has to kill it).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from doorbell.device.classify.model_file import default_model
from doorbell.device.classify.model_paths import INT8_NAME
from doorbell.device.redaction import WORKER
from doorbell.device.redaction.people import people_problem
from doorbell.device.storage import EventIndex
from doorbell.uplink.requests.audit import AuditLog
from doorbell.uplink.requests.face_model import model_problem
from doorbell.uplink.requests.file_digest import file_sha256
from doorbell.uplink.requests.redaction import ShareStopped
from doorbell.uplink.requests.redaction_worker import WorkerRedactor
from doorbell.uplink.requests.store import RequestStore
from tests.support.broker import MosquittoBroker
from tests.support.footage import PutServer, Signer, request_body, write_h264
from tests.support.process import DoorbellProcess
from tests.support.subscriber import Subscriber

needs_model = pytest.mark.skipif(
    model_problem() is not None, reason=f"{model_problem()} (./dev.sh test installs it)"
)


def workers_of(parent: int) -> list[int]:
    """The redaction workers `parent` started: its children running the worker's module."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == parent and WORKER.encode() in cmdline:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running or stopped; a zombie (dead, not yet reaped by whoever inherited it) is not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition: Callable[[], object], timeout: float, why: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(why())
        time.sleep(0.05)


def one_worker(parent: int, timeout: float, why: Callable[[], str]) -> int:
    found: list[int] = []
    wait_until(lambda: found.extend(workers_of(parent)) or found, timeout, why)
    return found[0]


def recorded_clip(data: Path, start_wall: float) -> None:
    """A 10 s 640x480 clip in the device's index, recorded before this start (seconds of work
    for a redaction worker)."""
    write_h264(data / "clips" / "c-1.mp4", frames=100, size=(640, 480))
    size = (data / "clips" / "c-1.mp4").stat().st_size
    digest = hashlib.sha256((data / "clips" / "c-1.mp4").read_bytes()).hexdigest()
    index = EventIndex(data / "index.sqlite")
    index.add_event("ev-1", "motion", start_wall)
    index.add_clip("c-1", ["ev-1"], "clips/c-1.mp4", start_wall)
    index.finish_clip("c-1", "clips/c-1.mp4", start_wall + 10, 10.0, 100, size, digest)
    index.close()


@needs_model
def test_a_stopped_device_ends_its_worker_and_the_share_is_retried_at_the_next_start(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    signer, server = Signer(), PutServer()
    data = tmp_path / "data"
    now = time.time()
    recorded_clip(data, now - 600)
    args = [
        "--broker",
        mosquitto.url,
        "--device-id",
        "fe",
        "--data-dir",
        str(data),
        "--camera",
        "synthetic:porch",
        "--set",
        "requests.policy=share_all",
        "--set",
        f"requests.trusted_keys=[{signer.public}]",
        "--set",
        "requests.allow_insecure_upload=true",  # the test server speaks plain HTTP
        "--set",
        "web.listen=null",
    ]  # requests.redact: faces, the default
    dev = DoorbellProcess(tmp_path / "first", *args)
    again: DoorbellProcess | None = None
    try:
        dev.wait_output("running in mode")
        url = server.url("/upload/{name}")
        body = request_body("case-7", now - 660, now - 60, now + 600, url, audience="fe")
        publisher = Subscriber(mosquitto.port, ["doorbell/fe/status"])
        publisher.client.publish(
            "doorbell/fe/cmd/footage_request", json.dumps(signer.sign(body)), qos=1
        )
        worker = one_worker(dev.proc.pid, 30, lambda: f"no redaction worker: {dev.stderr}")
        os.kill(worker, signal.SIGSTOP)  # still redacting when the device is told to stop
        publisher.close()
        dev.signal(signal.SIGTERM)
        assert dev.wait(30) == 0, dev.stderr
        assert not alive(worker)
        # Neither failed nor sent: left as it was, for the next start.
        store = RequestStore.in_dir(data)
        stored = store.get("case-7")
        store.close()
        assert stored is not None and stored.state == "sharing", stored
        assert "upload_failed" not in [e["kind"] for e in AuditLog.in_dir(data).entries()]
        assert server.received == []
        assert "case-7 stopped with the device" in dev.stderr
        # The next start finishes it: the clip leaves, faces filled (not the recorded bytes).
        again = DoorbellProcess(tmp_path / "second", *args)
        wait_until(lambda: server.received, 60, lambda: again.stderr if again else "")
        again.signal(signal.SIGTERM)
        assert again.wait(30) == 0, again.stderr
    finally:
        dev.kill()
        if again is not None:
            again.kill()
        server.close()
    store = RequestStore.in_dir(data)
    stored = store.get("case-7")
    store.close()
    assert stored is not None and stored.state == "shared", stored
    assert stored.redaction is not None and stored.redaction.method == "faces"
    # What the device's worker ran, as the record says it (the reply and audit too): the int8
    # person model ./dev.sh made, the file itself named.
    if people_problem() is None:
        done, int8 = stored.redaction, default_model().with_name(INT8_NAME)
        assert (done.heads, done.person_model_weights) == ("covered", "int8")
        assert done.person_model_sha256 == file_sha256(int8)
    else:
        assert stored.redaction.heads_reason == "no_person_model"
    [shared] = [e for e in AuditLog.in_dir(data).entries() if e["kind"] == "request_shared"]
    assert shared["data"]["redaction"] == stored.redaction.model_dump()
    [sent] = [r for r in server.received if r.path.endswith("/c-1.mp4")]
    assert hashlib.sha256(sent.body).hexdigest() != stored.clips[0].sha256  # a redacted copy


def loaded(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@needs_model
def test_a_worker_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """SIGKILL leaves no handler to run: the worker asked the kernel to kill it then."""
    source = tmp_path / "clip.mp4"
    write_h264(source, frames=100, size=(640, 480))  # seconds of work for the worker
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from pathlib import Path\n"
            "from doorbell.uplink.requests.redaction_worker import WorkerRedactor\n"
            f"WorkerRedactor(module={WORKER!r}).redact_files("
            f"[(Path({str(source)!r}), Path({str(tmp_path / 'out.mp4')!r}))])\n",
        ],
        stdin=subprocess.DEVNULL,
    )
    try:
        worker = one_worker(parent.pid, 30, lambda: "no redaction worker")
        # Loading the face model comes after the worker has asked for the parent-death signal.
        wait_until(lambda: loaded(worker, "onnxruntime"), 30, lambda: "no model loaded")
        os.kill(worker, signal.SIGSTOP)  # busy, not ending on its own, when its parent dies
        parent.kill()
        parent.wait()
        wait_until(lambda: not alive(worker), 10, lambda: f"worker {worker} outlived its parent")
    finally:
        parent.kill()
        parent.wait()


@needs_model
def test_no_worker_starts_once_the_device_is_stopping(tmp_path: Path) -> None:
    """A share still queued when the device stops is left for the next start, not begun."""
    write_h264(tmp_path / "clip.mp4", frames=5)
    redactor = WorkerRedactor(module=WORKER)
    redactor.stop()
    with pytest.raises(ShareStopped):
        redactor.redact_files([(tmp_path / "clip.mp4", tmp_path / "out.mp4")])
    assert not (tmp_path / "out.mp4").exists()  # a worker would have written it
