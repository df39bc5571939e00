"""The share worker never holds the face model and the person finder at once (issue 30: the
worker's private peak is the larger model's, not their sum), over several files of one share,
and lets each go (collected, not only dropped) once its pass is done, before the frames are
filled and encoded. Real models, real clips: the loading and filling are watched, not replaced."""

from __future__ import annotations

import shutil
import weakref
from pathlib import Path
from typing import Any

import cv2
import pytest

from doorbell.device.redaction.people import PersonFinder, open_person_finder
from doorbell.uplink.requests import redaction
from doorbell.uplink.requests.face_model import FaceDetector
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
    face_models: list[weakref.ref[FaceDetector]] = []
    finders: list[weakref.ref[PersonFinder]] = []
    held: dict[str, list[tuple[int, int]]] = {"people": [], "faces": [], "fill": []}

    def alive() -> tuple[int, int]:
        """How many face models and person finders are still in memory."""
        return (
            sum(ref() is not None for ref in face_models),
            sum(ref() is not None for ref in finders),
        )

    def people() -> PersonFinder | None:
        held["people"].append(alive())
        finder = open_person_finder()
        assert finder is not None
        finders.append(weakref.ref(finder))
        return finder

    class WatchedFaceDetector(FaceDetector):
        def __init__(self, *args: Any) -> None:
            held["faces"].append(alive())
            super().__init__(*args)
            face_models.append(weakref.ref(self))

    fill_clip = redaction._fill_clip

    def watched_fill_clip(*args: Any) -> Redacted:
        held["fill"].append(alive())
        return fill_clip(*args)

    monkeypatch.setattr(redaction, "FaceDetector", WatchedFaceDetector)
    monkeypatch.setattr(redaction, "_fill_clip", watched_fill_clip)
    redactor = Redactor(people=people)
    redactor.check()  # as a share does first: the face model loaded
    files = [
        (WALKERS, tmp_path / "a.mp4"),
        (snapshot, tmp_path / "b.jpg"),
        (second, tmp_path / "c.mp4"),
    ]
    redactor.redact_files(files)

    # each model loaded once for the share's three files, neither while the other is held
    assert held["people"] == [(0, 0)]  # the face model the check loaded is gone
    assert held["faces"] == [(0, 0), (0, 0)]  # at the check, and after the person finder went
    assert held["fill"] == [(0, 0), (0, 0)]  # neither model while the clips are filled
    assert all(target.stat().st_size > 0 for _, target in files)
