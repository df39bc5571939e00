"""A TensorFlow Lite SSD detector (MobileNetV2, 300x300, 1917 anchors) and its box decoding.

The shipped model (MediaPipe's OpenImages v4 detector, `model_file`) gives raw outputs: one box
encoding and one logit per class for each of 1917 anchors. The anchors are MediaPipe's
SsdAnchorsCalculator with the options of its object-detection graph (six layers, scales 0.2 to
0.95, strides 16 to 512, aspect ratios 1, 2, 1/2, 3, 1/3 plus an interpolated scale, three
anchors in the lowest layer); encodings are (y, x, h, w) scaled by 10, 10, 5, 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from doorbell.device.classify.runtime import load

INPUT_SIZE = 300
_STRIDES = (16, 32, 64, 128, 256, 512)
_MIN_SCALE, _MAX_SCALE = 0.2, 0.95
_RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
_XY_SCALE, _WH_SCALE = 10.0, 5.0


def ssd_anchors() -> np.ndarray:
    """(1917, 4) anchors as (x centre, y centre, width, height), normalised."""
    layers = len(_STRIDES)

    def scale(layer: int) -> float:
        return _MIN_SCALE + (_MAX_SCALE - _MIN_SCALE) * layer / (layers - 1)

    rows: list[tuple[float, float, float, float]] = []
    for layer, stride in enumerate(_STRIDES):
        if layer == 0:  # the lowest layer is reduced to three anchors
            specs = [(0.1, 1.0), (scale(0), 2.0), (scale(0), 0.5)]
        else:
            specs = [(scale(layer), ratio) for ratio in _RATIOS]
            upper = 1.0 if layer == layers - 1 else scale(layer + 1)
            specs.append((math.sqrt(scale(layer) * upper), 1.0))
        cells = math.ceil(INPUT_SIZE / stride)
        for y in range(cells):
            for x in range(cells):
                for size, ratio in specs:
                    root = math.sqrt(ratio)
                    rows.append(((x + 0.5) / cells, (y + 0.5) / cells, size * root, size / root))
    return np.array(rows, dtype=np.float32)


@dataclass(frozen=True)
class Detection:
    name: str  # the model's class name, e.g. "Person"
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1, normalised to the input picture


class SsdDetector:
    """One model (`runtime.load`: the leanest runtime this machine has), one thread: `detect`
    is not safe to call from two threads at once."""

    def __init__(self, model: Path, class_names: list[str], fp16: bool | None = False) -> None:
        """`fp16`: False (the default) runs fp32, as the detector was validated for the
        redaction's person finder (a head in a real frame is missed in fp16; it is given the
        int8-weight model, whose activations are fp32 too); None lets the CPU decide, as the
        event classifier does (`model_file`: half the memory, scores within 0.01)."""
        self._model = load(model, fp16)
        inp, outputs = self._model.input, self._model.outputs
        self._anchors = ssd_anchors()
        shapes = [o.shape for o in outputs]
        if inp.shape != (1, INPUT_SIZE, INPUT_SIZE, 3) or len(outputs) != 2:
            raise ValueError(f"not a 300x300 SSD with two raw outputs (input {list(inp.shape)})")
        boxes_at = 0 if shapes[0][-1] == 4 else 1
        self._boxes, self._classes = boxes_at, 1 - boxes_at
        anchors, classes = shapes[boxes_at][1], shapes[1 - boxes_at][-1]
        if anchors != len(self._anchors) or classes != len(class_names):
            raise ValueError(
                f"{anchors} anchors and {classes} classes; expected {len(self._anchors)} "
                f"anchors and {len(class_names)} classes (the label map)"
            )
        self.class_names = class_names

    def detect(self, rgb: np.ndarray, floor: float = 0.1) -> list[Detection]:
        """Detections in a 300x300 RGB picture scoring at least `floor`, best first: each
        anchor's best class (class 0 is the background, never reported)."""
        # the model's [-1, 1] input, computed in place: one 1 MB array, not three
        tensor = rgb.astype(np.float32)
        tensor *= 2.0 / 255.0
        tensor -= 1.0
        outputs = self._model.run(tensor[None])
        raw = outputs[self._boxes][0]
        logits = outputs[self._classes][0][:, 1:]
        best = logits.argmax(axis=1)
        scores = 1.0 / (1.0 + np.exp(-logits[np.arange(len(best)), best]))
        keep = np.flatnonzero(scores >= floor)
        keep = keep[np.argsort(-scores[keep])]
        a = self._anchors[keep]
        r = raw[keep]
        yc = r[:, 0] / _XY_SCALE * a[:, 3] + a[:, 1]
        xc = r[:, 1] / _XY_SCALE * a[:, 2] + a[:, 0]
        h = np.exp(r[:, 2] / _WH_SCALE) * a[:, 3]
        w = np.exp(r[:, 3] / _WH_SCALE) * a[:, 2]
        return [
            Detection(
                self.class_names[best[i] + 1],
                float(scores[i]),
                (float(x - wi / 2), float(y - hi / 2), float(x + wi / 2), float(y + hi / 2)),
            )
            for i, x, y, wi, hi in zip(keep, xc, yc, w, h, strict=True)
        ]
