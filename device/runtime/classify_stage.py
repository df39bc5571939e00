"""The classifier beside the camera: its own thread behind a bounded queue.

The analysis thread hands over a frame (a reference: no copy) and the boxes to look at, and goes
on at once. When the classifier falls behind, the oldest waiting job is dropped and counted
(`dropped_classify`), so classification can skip frames but never delays the camera, the motion
detector or the recorder. A simulation at full speed (`inline`) classifies on the caller's thread
instead: every job is done in order, so its labels are repeatable.

Which frames: the first one after an event starts, a new peak (at most one a `PEAK_GAP`), then
one every `classify.every_seconds` while the event lasts (`due`, frame time).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from doorbell.config.classify import ClassifyConfig
from doorbell.device.classify.classifier import Classifier
from doorbell.device.classify.labels import FrameLabels
from doorbell.device.classify.model_file import open_classifier
from doorbell.device.recording.masks import PrivacyMask
from doorbell.device.runtime.frame import Frame
from doorbell.device.runtime.queues import DropQueue
from doorbell.motion.types import Box

log = logging.getLogger(__name__)

NICE = 10  # the classifier thread's niceness: below every other stage
PEAK_GAP = 1.0  # seconds of frame time between two classified peaks of one event


def due(last_t: float | None, now_t: float, new_peak: bool, every_seconds: float) -> bool:
    """Whether this frame of an open event should be classified."""
    if last_t is None:
        return True  # the first frame after the start
    gap = now_t - last_t
    return gap >= every_seconds or (new_peak and gap >= PEAK_GAP)


@dataclass(frozen=True)
class ClassifyJob:
    alert_id: str
    frame: Frame
    boxes: tuple[Box, ...]


OnLabels = Callable[[ClassifyJob, FrameLabels], None]


class ClassifyStage:
    def __init__(
        self,
        classifier: Classifier,
        on_labels: OnLabels,
        queue: int,
        inline: bool,
        mask: PrivacyMask | None = None,
    ) -> None:
        """`mask`: the privacy masks (the recorder's, kept current by the page): what they hide
        is blacked out of a copy of the frame before the detector sees it, as in the clips."""
        self.classifier, self.on_labels, self.inline = classifier, on_labels, inline
        self.mask = mask
        self.jobs: DropQueue[ClassifyJob] = DropQueue(queue)
        self.classified = 0
        self.retried = 0  # jobs sent again because their answer never came (device.packages)
        self.seconds = 0.0  # spent classifying (the cost per frame is seconds / classified)
        self._thread: threading.Thread | None = None

    @property
    def dropped(self) -> int:
        return self.jobs.dropped

    def submit(self, job: ClassifyJob, retry: bool = False) -> None:
        """`retry`: a job whose earlier copy was dropped (counted in `retried`)."""
        self.retried += retry
        if self.inline:
            self._run(job)
        else:
            self.jobs.put(job)

    def start(self) -> None:
        if not self.inline:
            self._thread = threading.Thread(target=self._loop, name="classify", daemon=True)
            self._thread.start()

    def stop(self, timeout: float) -> None:
        """Finish the jobs waiting (a few frames) and end the thread."""
        self.jobs.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        # Linux schedules threads one by one: this one yields the CPU to capture, analysis and
        # recording whenever they want it (the interpreter runs on this thread, num_threads=1).
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        while (job := self.jobs.get()) is not None:
            self._run(job)

    def _run(self, job: ClassifyJob) -> None:
        began = time.perf_counter()  # a cost measurement, not a schedule
        try:
            main = job.frame.main
            if self.mask:  # a copy: the recorder masks the frame itself, on its own thread
                main = self.mask.apply_i420(main.copy())
            labels = self.classifier.classify(job.frame.seq, main, job.boxes)
            self.seconds += time.perf_counter() - began
            self.classified += 1
            self.on_labels(job, labels)
        except Exception:  # one bad frame (or a failed publish) must not end classification
            log.exception("classifying frame %d failed", job.frame.seq)


def open_stage(
    cfg: ClassifyConfig, on_labels: OnLabels, inline: bool, mask: PrivacyMask | None = None
) -> ClassifyStage | None:
    """The stage with the configured model, or None (said in one log line: `model_file`)."""
    classifier = open_classifier(cfg)
    if classifier is None:
        return None
    return ClassifyStage(classifier, on_labels, cfg.queue, inline, mask)
