"""Something that arrived and stayed: a possible package, and later its disappearance.

The motion detector takes into its background whatever has stood still for
`motion.absorb_seconds` where it was not before, and reports it once (`stationary`). Such an
object is shown to the classifier (its box, on that frame's main picture); unless it is a person,
a vehicle or an animal (a visitor who waits, a parked car, a cat asleep on the step) it is
reported as a possible `package`: an alert of type `package`, its `start` now, `label: package`.
Its look (the main picture's luma in its box) is kept and, once a second (frame time) while no
motion covers its place, compared with the place now: a place that looks like it still keeps up
with slow changes of light; a place that no longer does, twice in a row, means the package is
gone: the same alert's `end`, as soon as whoever took it has stepped away. (Not a second
`stationary`: the detector takes an emptied place back in as a ghost, without a report.)

Without a classifier nothing is reported: a person waiting at the door would be a package.
Packages are not remembered across a restart (the detector learns its background afresh, the
package with it): one present at shutdown gets no `end`.

Called from the analysis thread (`stationary`) and the classifier's (`on_labels`), hence the lock.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from doorbell.device.classify.labels import FrameLabels, Verdict
from doorbell.device.runtime.alerts import Alerts
from doorbell.device.runtime.classify_stage import ClassifyJob, ClassifyStage
from doorbell.device.runtime.frame import Frame, planes
from doorbell.device.runtime.policy import PackageArrived, Policy
from doorbell.motion.types import Box, MotionEvent

log = logging.getLogger(__name__)

JOB_PREFIX = "stationary:"  # the classifier's job ids for stationary objects (not alerts)
NOT_PACKAGES = ("person", "vehicle", "animal")
CHECK_EVERY = 1.0  # seconds of frame time between two looks at the packages' places
# The detector takes an object in block by block, over a few frames: pieces that touch (within
# NEAR of the picture) and come within SETTLE seconds of each other are one object.
SETTLE = 2.0
NEAR = 0.02
# Pieces of a package taken in up to this long after it was reported are part of it; later
# ones beside it are something else (a visitor who waited by it), classified on their own.
LATE_PIECES = 5.0
MISSES = 2  # looks in a row at a place unlike its package: gone
# Mean luma difference (0..255) below which a place still looks like the package: well above a
# sensor's noise, well below a parcel against the step it stood on.
LOOKS_SAME = 12.0


@dataclass
class Package:
    alert_id: str  # '' when its mode did not alert: watched all the same (not reported again)
    box: Box
    look: np.ndarray  # the main picture's luma in its box, at its last look that matched
    arrived_t: float  # frame time it was reported
    misses: int = 0  # looks in a row that did not


@dataclass
class Forming:
    """Pieces of one object being taken in: their union, and when the last one came."""

    box: Box
    last_t: float


def where(box: Box) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in (box.x, box.y, box.w, box.h)) + "]"


def look_of(frame: Frame, box: Box) -> np.ndarray:
    """The luma of the main picture inside `box` (normalised)."""
    y = planes(frame.main)[0]
    height, width = y.shape
    x0, y0 = int(box.x * width), int(box.y * height)
    x1, y1 = max(x0 + 1, int((box.x + box.w) * width)), max(y0 + 1, int((box.y + box.h) * height))
    return y[y0:y1, x0:x1].astype(np.int16)


def looks_same(before: np.ndarray, now: np.ndarray) -> bool:
    return before.shape == now.shape and float(np.abs(before - now).mean()) < LOOKS_SAME


class Packages:
    def __init__(
        self,
        policy: Callable[[], Policy],
        alerts: Alerts,
        echo: Callable[[str], None],
        min_score: float,
        moved: Callable[[], None] = lambda: None,
    ) -> None:
        """`moved`: called when a package that alerted arrives or goes (outside the lock)."""
        self.policy, self.alerts, self.echo, self.min_score = policy, alerts, echo, min_score
        self.moved = moved
        self.present: list[Package] = []
        self._waiting: dict[str, tuple[Box, Frame]] = {}  # classifier job -> what it shows
        self._ids = itertools.count(1)
        self._next_look = 0.0
        self._forming: list[Forming] = []  # analysis thread only
        self._lock = threading.Lock()

    def alerted(self) -> bool:
        """Whether a possible package whose alert went out is there now."""
        with self._lock:
            return any(p.alert_id for p in self.present)

    # -- the analysis thread ---------------------------------------------------------------------
    def stationary(self, event: MotionEvent, frame: Frame) -> None:
        """Something was taken into the background: a piece of a package already known, or of
        an object to classify once all of it is in (`look`, after `SETTLE`)."""
        for box in event.peak_boxes:
            with self._lock:
                # a last piece of a package just reported: the same package, its place and look
                # grown to cover it
                touched = [
                    p
                    for p in self.present
                    if p.box.overlaps(box, NEAR) and frame.t - p.arrived_t <= LATE_PIECES
                ]
                for package in touched:
                    package.box = package.box.union(box)
                    package.look, package.misses = look_of(frame, package.box), 0
                if touched:
                    continue
            for forming in list(self._forming):
                if forming.box.overlaps(box, NEAR):
                    self._forming.remove(forming)
                    box = box.union(forming.box)
            self._forming.append(Forming(box, frame.t))

    def _settled(self, frame: Frame, stage: ClassifyStage | None) -> None:
        """The objects whose last piece came `SETTLE` ago go to the classifier, whole."""
        for forming in [f for f in self._forming if frame.t - f.last_t >= SETTLE]:
            self._forming.remove(forming)
            if stage is None:  # without a classifier a waiting visitor would be a package
                continue
            job = ClassifyJob(f"{JOB_PREFIX}{next(self._ids)}", frame, (forming.box,))
            with self._lock:
                self._waiting[job.alert_id] = (forming.box, frame)
            stage.submit(job)

    def look(self, frame: Frame, moving: tuple[Box, ...], stage: ClassifyStage | None) -> None:
        """Each frame: objects taken in whole are classified; once a `CHECK_EVERY`, each
        package's place not covered by motion (someone in front of it) is compared with the
        package's look."""
        if self._forming:
            self._settled(frame, stage)
        if not self.present or frame.t < self._next_look:
            return
        self._next_look = frame.t + CHECK_EVERY
        gone = []
        with self._lock:
            for package in self.present:
                if any(package.box.overlaps(box) for box in moving):
                    continue
                now = look_of(frame, package.box)
                if looks_same(package.look, now):
                    package.look, package.misses = now, 0  # keeps up with the light
                    continue
                package.misses += 1
                if package.misses >= MISSES:
                    gone.append(package)
            for package in gone:
                self.present.remove(package)
        for package in gone:
            self._gone(package, frame)

    def _gone(self, package: Package, frame: Frame) -> None:
        log.info("the possible package at %s is gone", where(package.box))
        if not package.alert_id:
            return
        self.echo(f"PACKAGE GONE {package.alert_id} at {frame.t:.2f} s")
        self.alerts.end(package.alert_id, frame.wall)
        self.moved()

    # -- the classifier's thread -----------------------------------------------------------------
    def on_labels(self, job: ClassifyJob, labels: FrameLabels) -> bool:
        """A classified stationary object (True), or not one of ours (False)."""
        if not job.alert_id.startswith(JOB_PREFIX):
            return False
        with self._lock:
            waiting = self._waiting.pop(job.alert_id, None)
        if waiting is None:
            return True
        box, frame = waiting
        top = labels.top(self.min_score)
        if top in NOT_PACKAGES:
            log.info("something stayed at %s: a %s, not a package", where(box), top)
            return True
        scores = {str(label): round(score, 2) for label, score in labels.scores.items()}
        act = self.policy().decide(PackageArrived())
        alert_id = ""
        if act.alert:
            alert = self.alerts.start(
                "package",
                frame.wall,
                boxes=[box.as_list()],
                recording=False,
                verdict=Verdict("package", scores),
            )
            alert_id = alert.id
            self.echo(f"PACKAGE {alert_id} at {frame.t:.2f} s box {where(box)}")
        log.info("a possible package arrived at %s", where(box))
        with self._lock:
            self.present.append(Package(alert_id, box, look_of(frame, box), frame.t))
        if alert_id:
            self.moved()
        return True

    # -- shutdown --------------------------------------------------------------------------------
    def forget(self) -> None:
        """At shutdown: a package still there is not gone; its alert gets no `end`."""
        with self._lock:
            present, self.present = self.present, []
            self._waiting.clear()
        self._forming.clear()
        for package in present:
            if package.alert_id:
                self.alerts.forget(package.alert_id)
