"""The share worker never holds the face model and the person finder at once (issue 30: the
worker's private peak is the larger model's, not their sum), over several files of one share,
and lets each go (collected, not only dropped) once its pass is done. Real models, real clips."""

from __future__ import annotations

import shutil
import weakref
from pathlib import Path
from typing import Any

import cv2
import pytest

from doorbell.device.redaction.people import PersonFinder, open_person_finder
from doorbell.uplink.requests import redaction
from doorbell.uplink.requests.redaction import Redacted, Redactor
from tests.test_redaction_people import WALKERS, frames_of, needs_models


@needs_models
def test_the_two_models_are_never_held_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = tmp_path / "snap.jpg"
    cv2.imwrite(str(snapshot), frames_of(WALKERS)[0][:, :, ::-1])
    second = tmp_path / "second.mp4"
    shutil.copy(WALKERS, second)
    face_models: list[weakref.ref[object]] = []
    finders: list[weakref.ref[PersonFinder]] = []
    face_model_alive_at_people: list[bool] = []

    def people() -> PersonFinder | None:
        face_model_alive_at_people.append(any(ref() is not None for ref in face_models))
        finder = open_person_finder()
        assert finder is not None
        finders.append(weakref.ref(finder))
        return finder

    finder_alive_at_fill: list[bool] = []
    fill_clip = redaction._fill_clip

    def watched_fill_clip(*args: Any) -> Redacted:  # observed, not replaced
        finder_alive_at_fill.append(any(ref() is not None for ref in finders))
        return fill_clip(*args)

    monkeypatch.setattr(redaction, "_fill_clip", watched_fill_clip)
    redactor = Redactor(people=people)
    redactor.check()
    face_models.append(weakref.ref(redactor.detector))
    files = [
        (WALKERS, tmp_path / "a.mp4"),
        (snapshot, tmp_path / "b.jpg"),
        (second, tmp_path / "c.mp4"),
    ]
    redactor.redact_files(files)

    # the person finder built once for the share's three files, with the face model gone
    assert face_model_alive_at_people == [False]
    assert len(finders) == 1
    assert finder_alive_at_fill == [False, False]  # let go of before the frames are filled
    assert all(target.stat().st_size > 0 for _, target in files)
