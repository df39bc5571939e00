"""A share's redacted copies and the record of what the person pass did are one unit: a retry
after a device died while the copies were renamed into place never sends copies one pass made
under the record another pass wrote (uplink/requests/share.py's ShareJob._redacted)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from doorbell.device.classify.model_paths import INT8_NAME
from doorbell.uplink.e2e import AgeEncryptor
from doorbell.uplink.requests.person_pass import NO_PERSON_MODEL, OWNER_NOTE, PersonPass
from doorbell.uplink.requests.redaction import RedactionError
from doorbell.uplink.requests.redaction_worker import WorkerRedactor
from doorbell.uplink.requests.share import ShareJob
from doorbell.uplink.requests.store import RequestStore
from doorbell.uplink.requests.uploader import HttpUploader

COVERED = PersonPass("covered", "ab" * 32, "int8")


class CopyingRedactor:
    """Stands in for the share worker (its passes are tested in test_redaction*.py): each
    file copied with the pass's name appended, so a copy says which pass made it."""

    def __init__(self, person_pass: PersonPass) -> None:
        self.person_pass = person_pass
        self.calls: list[list[Path]] = []

    def check(self) -> None:
        pass

    def redact_files(self, files: list[tuple[Path, Path]]) -> PersonPass:
        self.calls.append([source for source, _ in files])
        for source, target in files:
            target.write_bytes(source.read_bytes() + self.person_pass.heads.encode())
        return self.person_pass

    def release(self) -> None:
        pass


def job(tmp_path: Path, redactor: CopyingRedactor) -> ShareJob:
    store = RequestStore(tmp_path / "requests.json")
    return ShareJob(tmp_path, AgeEncryptor([]), HttpUploader(), store, redactor)


def test_a_retry_after_a_death_among_the_renames_makes_every_copy_again(tmp_path: Path) -> None:
    sources = []
    for name in ("a.mp4", "a.jpg", "b.mp4"):
        (tmp_path / name).write_bytes(name.encode())
        sources.append((name, tmp_path / name))
    work = tmp_path / "share"
    work.mkdir()
    first = CopyingRedactor(COVERED)
    files, people = job(tmp_path, first)._redacted(work, sources)
    assert people == COVERED
    # the device died after the first rename: one copy in place, the others still partial
    for _, target in files[1:]:
        shutil.move(target, target.with_name(target.name + ".partial"))

    second = CopyingRedactor(NO_PERSON_MODEL)
    files, people = job(tmp_path, second)._redacted(work, sources)

    assert people == NO_PERSON_MODEL
    assert second.calls == [[source for _, source in sources]]  # all of them, not the rest
    assert {target.read_bytes()[-len(b"not_covered") :] for _, target in files} == {b"not_covered"}


def test_complete_copies_are_sent_with_their_own_record(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").write_bytes(b"a")
    work = tmp_path / "share"
    work.mkdir()
    job(tmp_path, CopyingRedactor(COVERED))._redacted(work, [("a.mp4", tmp_path / "a.mp4")])
    again = CopyingRedactor(NO_PERSON_MODEL)
    _, people = job(tmp_path, again)._redacted(work, [("a.mp4", tmp_path / "a.mp4")])
    assert people == COVERED and again.calls == []


@pytest.mark.parametrize(
    "report",
    [
        {"heads": "maybe"},
        {"heads": "covered", "person_model_sha256": "ab", "person_model_weights": "int4"},
        {"heads": "not_covered", "heads_reason": "the model file at /home/x failed"},
        {"heads": "covered", "person_model_sha256": 7},
        None,  # not an object at all
        [],
        {"heads": "covered", "person_model_sha256": "ab", "person_model_weights": "int8"},
        {"heads": "covered", "person_model_sha256": "/models/ssd.tflite"},
        {"heads": "covered", "heads_reason": "no_person_model"},  # a record against itself
        {"heads": "not_covered"},
        {"heads": "not_covered", "heads_reason": "no_person_model", "person_model_weights": "int8"},
    ],
)
def test_a_worker_report_outside_the_records_codes_refuses_the_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report: object
) -> None:
    """A real worker process reports it: the share is refused in one line (RedactionError, which
    ShareJob.run turns into a permanent UploadError), not a traceback from the reply's model."""
    (tmp_path / "a.jpg").write_bytes(b"a")
    monkeypatch.setenv("TEST_PERSON_PASS", json.dumps(report))
    redactor = WorkerRedactor(module="tests.support.reporting_worker")
    with pytest.raises(RedactionError, match="did not say what its person pass did"):
        redactor.redact_files([(tmp_path / "a.jpg", tmp_path / "out.jpg")])


def test_a_worker_report_in_the_records_codes_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.jpg").write_bytes(b"a")
    monkeypatch.setenv("TEST_PERSON_PASS", json.dumps(COVERED.to_json()))
    redactor = WorkerRedactor(module="tests.support.reporting_worker")
    assert redactor.redact_files([(tmp_path / "a.jpg", tmp_path / "out.jpg")]) == COVERED


def test_the_owners_note_is_logged_however_much_the_later_passes_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """docs/privacy.md: the owner's log has the worker's line saying why (an int8 file refused)."""
    (tmp_path / "a.jpg").write_bytes(b"a")
    note = f"{OWNER_NOTE}{INT8_NAME} changed since it was made: the fp16 model instead"
    later = [f"a later pass's line {i}" for i in range(20)]
    monkeypatch.setenv("TEST_PERSON_PASS", json.dumps(COVERED.to_json()))
    monkeypatch.setenv("TEST_WORKER_STDERR", "\n".join([note, *later]) + "\n")
    with caplog.at_level("WARNING", logger="doorbell.uplink.requests.redaction_worker"):
        WorkerRedactor(module="tests.support.reporting_worker").redact_files(
            [(tmp_path / "a.jpg", tmp_path / "out.jpg")]
        )
    logged = [r.getMessage() for r in caplog.records]
    assert f"redaction worker: {note}" in logged
    assert f"redaction worker: {later[-1]}" in logged


def test_nothing_to_redact_starts_no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_PERSON_PASS", raising=False)  # a worker started would fail for it
    assert WorkerRedactor(module="tests.support.reporting_worker").redact_files([]) == (
        NO_PERSON_MODEL
    )


def test_the_owners_note_is_logged_when_the_worker_fails_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a.jpg").write_bytes(b"a")
    note = f"{OWNER_NOTE}{INT8_NAME} changed since it was made: the fp16 model instead"
    monkeypatch.setenv("TEST_PERSON_PASS", json.dumps(COVERED.to_json()))
    monkeypatch.setenv("TEST_WORKER_STDERR", f"{note}\nredaction: no room for the copies\n")
    monkeypatch.setenv("TEST_WORKER_EXIT", "1")
    worker = WorkerRedactor(module="tests.support.reporting_worker")
    with (
        caplog.at_level("WARNING", logger="doorbell.uplink.requests.redaction_worker"),
        pytest.raises(RedactionError, match="no room for the copies"),
    ):
        worker.redact_files([(tmp_path / "a.jpg", tmp_path / "out.jpg")])
    assert f"redaction worker: {note}" in [r.getMessage() for r in caplog.records]
