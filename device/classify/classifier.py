"""One frame classified: crops around its boxes through the detector, scores per label."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from doorbell.device.classify.crops import crops
from doorbell.device.classify.labels import FrameLabels, frame_labels
from doorbell.device.classify.ssd import INPUT_SIZE, SsdDetector
from doorbell.motion.types import Box

# A crop is at least this share of the picture's height: a box of a few pixels (a cat far
# off, the first frames of someone entering) is classified with the scene around it.
MIN_SIDE = 0.3


class Classifier:
    def __init__(self, detector: SsdDetector, max_crops: int) -> None:
        self.detector, self.max_crops = detector, max_crops

    def classify(self, seq: int, i420: np.ndarray, boxes: Sequence[Box]) -> FrameLabels:
        """The label scores of frame `seq` (its main picture, I420) around `boxes`."""
        per_crop = []
        for picture in crops(i420, boxes, INPUT_SIZE, self.max_crops, MIN_SIDE):
            best: dict[str, float] = {}
            for d in self.detector.detect(picture):
                best[d.name] = max(best.get(d.name, 0.0), d.score)
            per_crop.append(best)
        return frame_labels(seq, per_crop)
