"""Something that arrived and stayed: a possible package, and later its disappearance.

The motion detector takes into its background whatever has stood still for
`motion.absorb_seconds` where it was not before, and reports it once (`stationary`). Such an
object is shown to the classifier (its box, on that frame's main picture); unless it is a person,
a vehicle or an animal (a visitor who waits, a parked car, a cat asleep on the step) it is
reported as a possible `package` (device.runtime.package_alerts: its alert, snapshot and the
clip of the motion that put it down). A job the classifier's queue dropped is sent again
(`RETRY_AFTER`, at most `TRIES` times; counted by the stage, telemetry's `classify_retried`; in
`undecided` when it never came).

"Gone" is decided only on what can be seen. Once a second (frame time) each package's place is
compared with its look (the main picture's luma in its box), unless something is in front of
it: motion over it, an object being taken in or classified over it, something that stayed in
front of it and is no package (a person who waits there longer than `absorb_seconds`: kept as
an occluder until its own place no longer looks like it, i.e. it left), or a newer package on
it. The comparison allows for the light: the place's expected look is its old look scaled by
how much the rest of the picture brightened or darkened, a place lit alone that keeps its
pattern is still it, and frames the detector saw the light change on are not judged. A place
that looks like it keeps up with slow changes; one that no longer does, twice in a row, means
the package is gone: its alert's `end`, with the clip of the motion that took it. (Not a second
`stationary`: the detector takes an emptied place back in as a ghost, without a report.)

Without a classifier nothing is reported: a person waiting at the door would be a package.
Packages are not remembered across a restart (the detector learns its background afresh, the
package with it): one present at shutdown gets no `end`.

Called from the analysis thread (`stationary`, `look`) and the classifier's (`on_labels`),
hence the lock.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from doorbell.device.classify.labels import FrameLabels
from doorbell.device.runtime.classify_stage import ClassifyJob, ClassifyStage
from doorbell.device.runtime.frame import Frame, planes
from doorbell.device.runtime.package_alerts import PackageAlerts, where
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
# A place lit alone (a porch lamp on the step) keeps its pattern, brighter or darker: the same
# package where the normalised correlation of its luma with the look's is above SAME_PATTERN,
# for a look with a pattern at all (a standard deviation of TEXTURE levels: a label, tape).
SAME_PATTERN = 0.9
TEXTURE = 8.0
# A stationary object whose labels have not come this long (frame time) after it was sent was
# dropped by the classifier's full queue: sent again, on the frame of then, at most TRIES times.
RETRY_AFTER = 3.0
TRIES = 3
MOTIONS = 16  # recent motion alerts remembered, to say which put a package down or took it


@dataclass
class Sight:
    """What a place looked like: the main picture's luma in a box, and the mean luma of the rest
    of the picture then (how bright the scene was)."""

    pixels: np.ndarray
    rest: float


@dataclass
class Still:
    """Something that stays in the picture, watched by its look."""

    box: Box
    sight: Sight  # at its last look that matched
    misses: int = 0  # looks in a row that did not


@dataclass
class Package(Still):
    alert_id: str = ""  # '' when its mode did not alert: watched all the same (not reported again)
    arrived_t: float = 0.0  # frame time it was reported
    indexed: bool = False  # it has a row in the event index (the page shows it)


@dataclass
class Forming:
    """Pieces of one object being taken in: their union, when the last one came, and the motion
    alert that moved over them last (the one that brought them)."""

    box: Box
    last_t: float
    motion: str | None


@dataclass
class Waiting:
    """An object sent to the classifier, not decided yet."""

    box: Box
    frame: Frame
    sent_t: float
    tries: int = 1


def luma_total(frame: Frame) -> int:
    """The sum of the main picture's luma: every sight of one frame needs it."""
    return int(planes(frame.main)[0].sum(dtype=np.int64))


def sight_of(frame: Frame, box: Box, total: int | None = None) -> Sight:
    """The luma of the main picture inside `box`, and the mean of the rest of the picture
    (`total`: the picture's `luma_total`, when known)."""
    y = planes(frame.main)[0]
    height, width = y.shape
    x0, y0 = int(box.x * width), int(box.y * height)
    x1, y1 = max(x0 + 1, int((box.x + box.w) * width)), max(y0 + 1, int((box.y + box.h) * height))
    pixels = y[y0:y1, x0:x1].astype(np.int16)
    outside = y.size - pixels.size
    total = luma_total(frame) if total is None else total
    rest = (float(total) - float(pixels.sum())) / outside if outside else 1.0
    return Sight(pixels, rest)


def looks_same(before: Sight, now: Sight) -> bool:
    """Whether `now` shows what `before` did, allowing for the light: `before` scaled by how the
    rest of the picture brightened or darkened is what the place would look like now; or, lit
    alone, the same pattern (`SAME_PATTERN`)."""
    if before.pixels.shape != now.pixels.shape:
        return False
    gain = now.rest / max(before.rest, 1.0)
    if float(np.abs(before.pixels * gain - now.pixels).mean()) < LOOKS_SAME:
        return True
    was, looks = before.pixels - before.pixels.mean(), now.pixels - now.pixels.mean()
    spread_was, spread_now = float(was.std()), float(looks.std())
    if min(spread_was, spread_now) < TEXTURE:
        return False  # a plain place: nothing to correlate (a parcel taken from a plain step)
    return float((was * looks).mean()) / (spread_was * spread_now) > SAME_PATTERN


class Packages:
    def __init__(self, report: PackageAlerts, min_score: float) -> None:
        self.report, self.min_score = report, min_score
        self.present: list[Package] = []
        self.occluders: list[Still] = []  # things that stayed and are no package (a person)
        self.undecided = 0  # objects never classified after TRIES
        self._waiting: dict[str, Waiting] = {}  # classifier job -> what it shows
        self._ids = itertools.count(1)
        self._next_look = 0.0
        self._forming: list[Forming] = []  # analysis thread only
        # motion alert id -> the places it moved over, newest last (analysis thread only)
        self._motions: OrderedDict[str, Box] = OrderedDict()
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
                    package.sight, package.misses = sight_of(frame, package.box), 0
                if touched:
                    continue
                # Pieces that touch are one object, and so are those the same motion brought:
                # a person who waited is taken in as pieces that need not touch.
                motion = self._motion_over(box)
            for forming in list(self._forming):
                if forming.box.overlaps(box, NEAR) or (motion and forming.motion == motion):
                    self._forming.remove(forming)
                    box = box.union(forming.box)
            self._forming.append(Forming(box, frame.t, motion))

    def moving(self, alert_id: str, boxes: tuple[Box, ...]) -> None:
        """Where the newest open motion alert moves this frame: the one that put a package down
        or took it is the latest whose places cover it."""
        if not boxes:
            return
        with self._lock:  # read by the classifier's thread (`on_labels`)
            union = self._motions.pop(alert_id, boxes[0])
            for box in boxes:
                union = union.union(box)
            self._motions[alert_id] = union
            while len(self._motions) > MOTIONS:
                self._motions.popitem(last=False)

    def _motion_over(self, box: Box) -> str | None:
        return next((a for a, b in reversed(self._motions.items()) if b.overlaps(box)), None)

    def _send(self, stage: ClassifyStage, box: Box, frame: Frame, tries: int) -> None:
        job = ClassifyJob(f"{JOB_PREFIX}{next(self._ids)}", frame, (box,))
        with self._lock:
            self._waiting[job.alert_id] = Waiting(box, frame, frame.t, tries)
        stage.submit(job, retry=tries > 1)

    def _settled(self, frame: Frame, stage: ClassifyStage | None) -> None:
        """The objects whose last piece came `SETTLE` ago go to the classifier, whole."""
        for forming in [f for f in self._forming if frame.t - f.last_t >= SETTLE]:
            self._forming.remove(forming)
            if stage is not None:  # without a classifier a waiting visitor would be a package
                self._send(stage, forming.box, frame, 1)

    def _retry(self, frame: Frame, stage: ClassifyStage | None) -> None:
        """Objects whose labels never came (the classifier's full queue dropped them): again."""
        with self._lock:
            late = [(k, w) for k, w in self._waiting.items() if frame.t - w.sent_t >= RETRY_AFTER]
            for key, _ in late:
                del self._waiting[key]  # a late answer to it is ignored
        for _, waiting in late:
            if stage is None or waiting.tries >= TRIES:
                self.undecided += 1
                log.warning("something that stayed at %s was never classified", where(waiting.box))
                continue
            log.info("classifying what stayed at %s again (not answered)", where(waiting.box))
            self._send(stage, waiting.box, frame, waiting.tries + 1)  # counted by the stage

    def look(
        self, frame: Frame, moving: tuple[Box, ...], stage: ClassifyStage | None, lighting: bool
    ) -> None:
        """Each frame: objects taken in whole are classified (again if unanswered); once a
        `CHECK_EVERY`, each package's place that nothing is in front of is compared with the
        package's look. `lighting`: the detector saw the light change on this frame."""
        if self._forming:
            self._settled(frame, stage)
        if self._waiting:
            self._retry(frame, stage)
        if not self.present:
            if self.occluders:
                with self._lock:
                    self.occluders.clear()  # they hide nothing now
            return
        if frame.t < self._next_look or lighting:
            return
        self._next_look = frame.t + CHECK_EVERY
        total = luma_total(frame)
        with self._lock:
            hiding = [f.box for f in self._forming] + [w.box for w in self._waiting.values()]
            self.occluders = [o for o in self.occluders if not self._left(o, frame, moving, total)]
            hiding += [o.box for o in self.occluders]
            gone = []
            for package in self.present:
                newer = [p.box for p in self.present if p.arrived_t > package.arrived_t]
                if any(package.box.overlaps(box) for box in (*moving, *hiding, *newer)):
                    continue
                if self._left(package, frame, moving, total):
                    gone.append(package)
            for package in gone:
                self.present.remove(package)
        for package in gone:
            self._gone(package, frame)

    @staticmethod
    def _left(still: Still, frame: Frame, moving: tuple[Box, ...], total: int) -> bool:
        """Whether `still`, its place visible, no longer looks like it (`MISSES` in a row)."""
        if any(still.box.overlaps(box) for box in moving):
            return False
        now = sight_of(frame, still.box, total)
        if looks_same(still.sight, now):
            still.sight, still.misses = now, 0  # keeps up with the light
            return False
        still.misses += 1
        return still.misses >= MISSES

    def _gone(self, package: Package, frame: Frame) -> None:
        log.info("the possible package at %s is gone", where(package.box))
        if package.alert_id:
            with self._lock:
                taker = self._motion_over(package.box)
            self.report.gone(package.alert_id, frame, taker, package.indexed)

    # -- the classifier's thread -----------------------------------------------------------------
    def on_labels(self, job: ClassifyJob, labels: FrameLabels) -> bool:
        """A classified stationary object (True), or not one of ours (False)."""
        if not job.alert_id.startswith(JOB_PREFIX):
            return False
        with self._lock:
            waiting = self._waiting.pop(job.alert_id, None)
        if waiting is None:
            return True
        box, frame = waiting.box, waiting.frame
        top = labels.top(self.min_score)
        seen = sight_of(frame, box)  # outside the lock: a pass over the whole picture
        if top in NOT_PACKAGES:
            log.info("something stayed at %s: a %s, not a package", where(box), top)
            with self._lock:  # in front of a package: it hides it until it leaves
                if any(p.box.overlaps(box) for p in self.present):
                    self.occluders.append(Still(box, seen))
            return True
        scores = {str(label): round(score, 2) for label, score in labels.scores.items()}
        with self._lock:
            bringer = self._motion_over(box)
        alert_id, indexed = self.report.arrived(box, frame, scores, bringer)
        log.info("a possible package arrived at %s", where(box))
        with self._lock:
            self.present.append(
                Package(box, seen, alert_id=alert_id, arrived_t=frame.t, indexed=indexed)
            )
        if alert_id:
            self.report.moved()
        return True

    # -- shutdown --------------------------------------------------------------------------------
    def forget(self) -> None:
        """At shutdown: a package still there is not gone; its alert gets no `end`."""
        with self._lock:
            present, self.present = self.present, []
            self._waiting.clear()
            self.occluders.clear()
        self._forming.clear()
        for package in present:
            if package.alert_id:
                self.report.alerts.forget(package.alert_id)
