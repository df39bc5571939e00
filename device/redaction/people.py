"""People in a shared clip's frames, found by the event classifier's detector (device/classify:
SSD-MobileNetV2, OpenImages v4, on ai-edge-litert), for the redaction's head cover.

The whole frame is looked at, scaled to the detector's 300x300 input (a 640x480 frame's people
from about 40 px high are found; tiles of it found no more on real footage, for twice the cost),
and the detector's overlapping hits on one person are merged (non-maximum suppression).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from doorbell.device.classify.int8_weights import (
    Int8Refused,
    fp16_problem,
    fp32_model,
    int8_sha256,
    label_names,
)
from doorbell.device.classify.model_paths import FP16_NAME, INT8_NAME, default_model, labels_of
from doorbell.device.classify.ssd import INPUT_SIZE, SsdDetector
from doorbell.uplink.requests.file_digest import file_sha256
from doorbell.uplink.requests.person_pass import OWNER_NOTE

if TYPE_CHECKING:
    from doorbell.uplink.requests.person_pass import PersonWeights

log = logging.getLogger(__name__)

PERSON = "Person"  # the detector's class name
MIN_SCORE = 0.3  # lower than an event's label needs: a missed head costs more than a filled wall
OVERLAP = 0.4  # hits overlapping more than this (IoU) are one person

Box = tuple[int, int, int, int]

# by the file's name; another name: None
WEIGHTS: dict[str, PersonWeights] = {INT8_NAME: "int8", FP16_NAME: "fp16"}


class PersonFinder:
    def __init__(
        self,
        detector: SsdDetector,
        model_sha256: str,
        weights: PersonWeights | None,
        min_score: float = MIN_SCORE,
    ) -> None:
        """`model_sha256`, `weights`: of the model file the detector loaded, for the share's
        record (uplink/requests/redaction.py's ModelPersonFinder)."""
        self.detector, self.min_score = detector, min_score
        self.model_sha256, self.weights = model_sha256, weights

    def people(self, rgb: np.ndarray) -> list[Box]:
        """Pixel boxes (x0, y0, x1, y1) of the people in an RGB frame."""
        height, width = rgb.shape[:2]
        picture = cv2.resize(rgb, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
        hits = [d for d in self.detector.detect(picture, self.min_score) if d.name == PERSON]
        if not hits:
            return []
        rects = [
            [
                b.box[0] * width,
                b.box[1] * height,
                (b.box[2] - b.box[0]) * width,
                (b.box[3] - b.box[1]) * height,
            ]
            for b in hits
        ]
        keep = cv2.dnn.NMSBoxes(rects, [d.score for d in hits], self.min_score, OVERLAP)
        return [
            (
                max(0, int(rects[i][0])),
                max(0, int(rects[i][1])),
                min(width, int(rects[i][0] + rects[i][2] + 0.999)),
                min(height, int(rects[i][1] + rects[i][3] + 0.999)),
            )
            for i in np.asarray(keep, dtype=int).ravel()
        ]


def people_problem() -> str | None:
    """Why people's heads cannot be filled on this device, found without loading the model;
    None: they can."""
    model = default_model()
    if not model.is_file():
        return f"no person model at {model} (./dev.sh install puts it there)"
    if not labels_of(model).is_file():
        return f"no label map at {labels_of(model)}"
    if importlib.util.find_spec("ai_edge_litert") is None:
        return "the runtime ai-edge-litert is not installed"
    return None


def person_model() -> Path | None:
    """The installed person model, for the share worker (WorkerRedactor's people_model): the
    int8 one made at install time when it is there and intact (it runs in fp32: 13 MB less of
    the worker's peak than the fp16 file), else the fp16 one; None: faces only."""
    return fp32_model(default_model()) if people_problem() is None else None


def open_person_finder(model: Path | None = None) -> PersonFinder | None:
    """The detector at `model` (the installed one when None) as a PersonFinder; None (faces
    only) when it cannot be loaded. Its label map is beside it (labels_of)."""
    if model is None:
        model = person_model()
        if model is None:
            return None
    sha256 = None
    if model.name == INT8_NAME:  # checked again as it is loaded: refused if changed since
        try:
            sha256 = int8_sha256(model)
        except Int8Refused as why:
            log.warning("%s%s: the fp16 model instead", OWNER_NOTE, why)
            model = model.with_name(FP16_NAME)
    try:
        names = label_names(model)  # (the bytes held to the pin)
        sha256 = sha256 or file_sha256(model)  # the file about to be loaded, for the record
        refused = fp16_problem(model, sha256) if model.name == FP16_NAME else None  # same hash
        if refused is not None:  # not the file installed: never run
            log.warning("%speople's heads not filled: %s", OWNER_NOTE, refused)
            return None
        return PersonFinder(SsdDetector(model, names), sha256, WEIGHTS.get(model.name))
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        log.warning("%speople's heads not filled: %s", OWNER_NOTE, exc)
        return None
