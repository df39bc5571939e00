"""What the device does about an event: asks the mode policy (device.policy) and carries out
its actions on the alerts, the recorder and the uplink.

Called from the analysis thread (motion), the classifier's thread (labels), the recording thread
(clips) and any thread (a ring: the button, the control socket, MQTT).

A motion alert is opened at the event's start (its clip starts then) but its `start` message is
held until the classifier's first label, or `classify.max_wait_ms` of frame time after the
event's first frame, whichever comes first; then the mode says whether that label alerts. A label
that does not alert keeps the alert quiet, and a later one that does still raises it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from doorbell.config.classify import ClassifyConfig
from doorbell.config.device import EventLabel
from doorbell.device.classify.labels import SCORED as LABELLED
from doorbell.device.classify.labels import FrameLabels
from doorbell.device.recording.recorder import Recorder
from doorbell.device.runtime.alerts import Alerts
from doorbell.device.runtime.classify_stage import ClassifyJob, ClassifyStage, due
from doorbell.device.runtime.frame import Frame
from doorbell.device.runtime.package_alerts import PackageAlerts, where
from doorbell.device.runtime.packages import Packages
from doorbell.device.runtime.policy import (
    Actions,
    MotionEnded,
    MotionLabelled,
    MotionStarted,
    Policy,
    Ring,
)
from doorbell.device.runtime.snapshots import send_snapshot
from doorbell.motion.types import EventUpdate, MotionEvent, MotionResult
from doorbell.uplink.uplink import Uplink

log = logging.getLogger(__name__)


@dataclass
class ActiveMotion:
    event: MotionEvent
    alert_id: str
    peak: Frame  # the frame at the event's highest score so far
    # The frame the event started on, for the start alert's snapshot; None once that is taken
    # or not wanted: a whole picture (0.66 MB at 768x576) is not held for the rest of the event.
    first: Frame | None
    deadline: float  # frame time after which the start goes out with whatever label is known
    announced: bool = False  # its start is published
    waited: bool = False  # the first label or the deadline came: the mode has been asked
    classified_t: float | None = None  # frame time of its last frame sent to the classifier
    # label -> (score, frame): each label's best-scoring classified frame, for its snapshots
    best: dict[str, tuple[float, Frame]] = field(default_factory=dict)
    indexed: bool = False  # the recorder has been asked (where it records, its row exists)
    recorded: bool = False  # the recorder was told it started: it hears its end, in any mode
    snapshot_due: bool = False  # its start went out before that: the snapshot follows it

    def picture(self, label: str, fallback: Frame) -> Frame:
        """The frame that shows `label` best, if one was classified as it, else `fallback`."""
        best = self.best.get(label)
        return fallback if best is None else best[1]


class Reactions:
    def __init__(
        self,
        policy: Callable[[], Policy],
        alerts: Alerts,
        recorder: Recorder,
        uplink: Uplink,
        echo: Callable[[str], None],
        wall_clock: Callable[[], float],
        classify: ClassifyConfig | None = None,
    ) -> None:
        """`policy`: the current mode's rules, asked afresh for each event. `classify`: the
        classifier's settings; `classifier` (set after, it calls back here) does the work, and
        without it every event is `unknown` and its alert goes out at once, as it always has."""
        self.policy, self.alerts, self.recorder, self.uplink = policy, alerts, recorder, uplink
        self.echo, self.wall_clock = echo, wall_clock
        self.classify = classify or ClassifyConfig()
        self.classifier: ClassifyStage | None = None
        self._active: dict[int, ActiveMotion] = {}  # id(MotionEvent) -> its alert
        # The analysis thread and the classifier's both decide whether a start goes out.
        self._lock = threading.RLock()
        self._labels_on: set[str] = set()  # labels whose retained motion/<label> is ON
        self.last_frame: Frame | None = None
        report = PackageAlerts(policy, alerts, echo, self._packages_moved, recorder, uplink)
        self.packages = Packages(report, self.classify.min_score)

    # -- analysis thread ------------------------------------------------------------------------
    def took(self, frame: Frame) -> None:
        """The newest frame, from the moment analysis takes it (a snapshot asked for now shows
        it): the one before is no longer held while the detector works on this one."""
        self.last_frame = frame

    def on_analysed(self, updates: list[EventUpdate], result: MotionResult, frame: Frame) -> None:
        """`frame`, analysed: the one took() was given before (the newest frame is kept there
        alone)."""
        if self._active:  # whose motion this is: the newest open alert's
            self.packages.moving(next(reversed(self._active.values())).alert_id, result.boxes)
        self.packages.look(frame, result.boxes, self.classifier, result.lighting)
        for active in list(self._active.values()):
            new_peak = active.event.peak_seq == frame.seq
            if new_peak:
                # A reference, not a copy. The recorder may or may not have masked `main` in
                # place yet (its own thread); the snapshot is masked either way, by JpegPicture
                # on a copy of its own.
                active.peak = frame
            self._classify(active, frame, result, new_peak)
            if not active.waited and frame.t >= active.deadline:
                with self._lock:
                    active.waited = True
                    self._label_known(active, self.alerts.label_of(active.alert_id))
        for update in updates:
            if update.kind == "start":
                self._motion_started(update.event, frame, result)
            elif update.kind == "end":
                self._motion_ended(update.event, frame)
            elif update.kind == "stationary" and update.event.box is not None:
                log.info("something arrived and stayed: %s", where(update.event.box))
                self.packages.stationary(update.event, frame)

    def _classify(
        self, active: ActiveMotion, frame: Frame, result: MotionResult, new_peak: bool
    ) -> None:
        stage = self.classifier
        if stage is None or not result.boxes:
            return
        if due(active.classified_t, frame.t, new_peak, self.classify.every_seconds):
            active.classified_t = frame.t
            stage.submit(ClassifyJob(active.alert_id, frame, result.boxes))

    # -- the classifier's thread ------------------------------------------------------------------
    def on_labels(self, job: ClassifyJob, frame: FrameLabels) -> None:
        """A classified frame of an alert: the vote so far, and the start if it waits (or of
        something that stayed: a possible package)."""
        if self.packages.on_labels(job, frame):
            return
        verdict = self.alerts.add_labels(job.alert_id, frame, self.classify.min_score)
        if verdict is None:
            return  # closed already: nothing more to say about it
        with self._lock:
            active = next((a for a in self._active.values() if a.alert_id == job.alert_id), None)
            if active is not None:
                for label, score in frame.scores.items():
                    if score > active.best.get(label, (0.0, job.frame))[0]:
                        active.best[label] = (score, job.frame)
                active.waited = True
                self._label_known(active, verdict.label)
                self._sync_labels()  # the vote may have moved an open alert to another label

    def _label_known(self, active: ActiveMotion, label: EventLabel) -> None:
        """The mode's say on a label (under the lock): the start goes out if it alerts."""
        if active.announced:
            return
        act = self.policy().decide(MotionLabelled(label))
        if not act.alert:
            log.info("motion labelled %s: no alert in this mode", label)
            return
        active.announced = True
        event, alert_id = active.event, active.alert_id
        self.alerts.release(alert_id)
        log.info(
            "motion started, score %.1f%%, %s",
            event.peak_score,
            label,
            extra={"event_id": alert_id},
        )
        self.echo(
            f"ALERT motion {alert_id} at {event.start_t:.2f} s "
            f"score {event.peak_score:.1f}% zones {','.join(sorted(event.zones)) or '-'} {label}"
        )
        self._set_motion(act)
        self._sync_labels()
        if act.snapshot and active.indexed:
            picture = active.picture(label, active.first or active.peak)
            self._snapshot(alert_id, picture, active.recorded)
        elif act.snapshot:  # _motion_started saves it once the event is in the index
            active.snapshot_due = True
        if not active.snapshot_due:
            active.first = None

    def _packages_moved(self) -> None:
        """A possible package alerted or went (the classifier's or the analysis thread)."""
        with self._lock:
            self._sync_labels()

    def _sync_labels(self) -> None:
        """`motion/<label>` ON for each label an open, published motion alert has, and `package`
        while a possible package that alerted is there; OFF for the others (under the lock):
        Home Assistant's binary sensor per label."""
        labels = [self.alerts.label_of(a.alert_id) for a in self._active.values() if a.announced]
        now = {str(label) for label in labels if label != "unknown"}
        if self.packages.alerted():
            now.add("package")
        for name in sorted(now ^ self._labels_on):
            self.uplink.set_motion_label(name, name in now)
        self._labels_on = now

    def all_labels_off(self) -> None:
        """At start and at exit: no motion alert is open, so no label sensor is ON (a crash
        may have left one ON, retained)."""
        with self._lock:
            for label in LABELLED:
                self.uplink.set_motion_label(label, False)
            self._labels_on = set()

    def settle(self) -> None:
        """At shutdown: every start still waiting for a label goes out (or not) with what is
        known now, so no alert is lost for want of a label. A package still there is not gone:
        its alert is closed without an `end`."""
        self.packages.forget()
        with self._lock:
            for active in self._active.values():
                if not active.waited:
                    active.waited = True
                    self._label_known(active, self.alerts.label_of(active.alert_id))

    # -- the analysis thread, again -------------------------------------------------------------
    def _motion_started(self, event: MotionEvent, frame: Frame, result: MotionResult) -> None:
        act = self.policy().decide(MotionStarted())
        if not act.alert:
            return
        offset = frame.wall - frame.t
        classified = self.classifier is not None
        alert = self.alerts.start(
            "motion",
            offset + event.start_t,
            score=event.peak_score,
            boxes=[b.as_list() for b in event.peak_boxes],
            zones=sorted(event.zones),
            recording=act.clip_follows,
            hold=True,
        )
        wait = self.classify.max_wait_ms / 1000.0 if classified else 0.0
        active = ActiveMotion(event, alert.id, frame, frame, event.start_t + wait)
        with self._lock:
            self._active[id(event)] = active
        # The start frame to the classifier first (inline, its start may go out now), then the
        # clip: as before labels, whatever the alert sets off (an owner disarming at once) comes
        # before the recorder hears of the event.
        if classified:
            self._classify(active, frame, result, True)
        else:  # no classifier: the start goes out now, `unknown`
            with self._lock:
                active.waited = True
                self._label_known(active, "unknown")
        if act.record:
            self.recorder.event_started(alert.id, "motion", event.start_t, offset + event.start_t)
        with self._lock:
            active.indexed, active.recorded = True, act.record
            if active.snapshot_due:
                label = self.alerts.label_of(alert.id)
                picture = active.picture(label, active.first or active.peak)
                self._snapshot(alert.id, picture, active.recorded)
                active.snapshot_due, active.first = False, None

    def _motion_ended(self, event: MotionEvent, frame: Frame) -> None:
        with self._lock:
            active = self._active.pop(id(event), None)
            if active is not None and not active.waited:  # shorter than the wait: decide now
                active.waited = True
                self._label_known(active, self.alerts.label_of(active.alert_id))
            others = any(a.announced for a in self._active.values())
            self._sync_labels()
        if active is None:
            return
        ended = MotionEnded(active.announced, others, held=not active.announced)
        act = self.policy().decide(ended)
        offset = frame.wall - frame.t
        label = self.alerts.label_of(active.alert_id)
        zones, end_wall = sorted(event.zones), offset + event.end_t
        if active.recorded:
            # What the recorder heard start it hears end, whatever the mode by now: its index
            # row is closed, and a clip still to open is cut where it must be.
            if label != "unknown":
                self.recorder.label_event(active.alert_id, label, event.end_t)
            self.recorder.event_ended(
                active.alert_id, event.end_t, end_wall, event.peak_score, zones
            )
        if not active.announced:  # kept quiet by its label: the clip ends, nothing is sent
            self.alerts.end(active.alert_id, end_wall)
            return
        if not act.alert:
            return
        log.info(
            "motion ended after %.1f s",
            event.end_t - event.start_t,
            extra={"event_id": active.alert_id},
        )
        self._set_motion(act)
        if act.snapshot:
            self._snapshot(active.alert_id, active.picture(label, active.peak), active.recorded)
        self.alerts.end(
            active.alert_id,
            end_wall,
            score=event.peak_score,
            boxes=[b.as_list() for b in event.peak_boxes],
            zones=zones,
        )

    def _set_motion(self, act: Actions) -> None:
        if act.motion is not None:
            self.uplink.set_motion(act.motion)

    # -- the button: any thread -----------------------------------------------------------------
    def press(self) -> str:
        """A ring: its own event, muted by no mode; records and snapshots where the mode allows."""
        frame = self.last_frame
        if frame is None:
            log.warning("button pressed before the first frame; ring sent without a picture")
            wall, t = self.wall_clock(), 0.0
        else:
            wall, t = frame.wall, frame.t
        act = self.policy().decide(Ring(has_frame=frame is not None))
        alert = self.alerts.start("ring", wall, recording=act.clip_follows)
        self.echo(f"RING {alert.id} at {t:.2f} s")
        log.info("doorbell pressed", extra={"event_id": alert.id})
        if act.record:
            self.recorder.event_started(alert.id, "ring", t, wall)
            self.recorder.event_ended(alert.id, t, wall, 0.0, [])
        if act.snapshot and frame is not None:
            self._snapshot(alert.id, frame, act.record)
        self.alerts.end(alert.id, wall)
        return alert.id

    # -- recording ------------------------------------------------------------------------------
    def _snapshot(self, alert_id: str, frame: Frame, store: bool) -> None:
        """Sent; stored only with an index row to name it (the recorder was told of the event),
        else no retention would ever find the file."""
        send_snapshot(self.recorder, self.uplink, alert_id, frame, store)
