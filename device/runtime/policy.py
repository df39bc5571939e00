"""What an event means in the current mode: the mode rules, and nothing else.

Pure: a mode's behaviour and the record mode, plus one event, in; the actions to take out. The
device carries the actions out (alerts, recorder, snapshots, the retained motion state), so every
rule here can be tested as a table, without threads, a camera or a broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from doorbell.config.device import EventLabel, ModeBehaviour

RecordMode = Literal["events", "continuous", "off"]


@dataclass(frozen=True)
class MotionStarted:
    pass


@dataclass(frozen=True)
class MotionLabelled:
    """What moved, as known now (`unknown` when the classifier has not said or cannot): the
    alert opened at the start goes out only if this mode alerts on this label."""

    label: EventLabel


@dataclass(frozen=True)
class MotionEnded:
    alerted: bool  # an alert was raised (published) for this motion
    others_open: bool  # other motion alerts are still open
    held: bool = False  # an alert was opened at the start but its label kept it quiet


@dataclass(frozen=True)
class Stationary:
    """Something arrived and stayed: absorbed into the background, logged only."""


@dataclass(frozen=True)
class PackageArrived:
    """Something stayed that is no person, vehicle or animal: a possible package. It alerts
    where the mode alerts on motion labelled `package`, indexed where the mode records and with
    a snapshot where it takes them; its disappearance follows its alert."""


@dataclass(frozen=True)
class PackageGone:
    """A package that alerted is gone: its alert is closed in any mode (as a motion alert raised
    before disarming is), with a snapshot of the empty place where the mode takes them. Its
    index row, if its arrival made one, is closed whatever the mode now."""


@dataclass(frozen=True)
class Ring:
    has_frame: bool  # the camera has delivered a picture to go with the ring


@dataclass(frozen=True)
class SnapshotAsked:
    """Someone asked for a picture now (`cmd/snapshot`)."""


@dataclass(frozen=True)
class ModeEntered:
    """The device has just entered this policy's mode."""


Event = (
    MotionStarted
    | MotionLabelled
    | MotionEnded
    | Stationary
    | PackageArrived
    | PackageGone
    | Ring
    | SnapshotAsked
    | ModeEntered
)


@dataclass(frozen=True)
class Actions:
    alert: bool = False  # raise (or, for an end, close) an alert and publish it
    record: bool = False  # tell the recorder the event started (and so, later, its end)
    snapshot: bool = False  # save and publish a snapshot
    clip_follows: bool = False  # the alert's `end` waits for its own clip
    motion: bool | None = None  # set the retained motion state ON/OFF; None leaves it
    stop_recording: bool = False  # end the open clip now, with no post-roll after it


NOTHING = Actions()


@dataclass(frozen=True)
class Policy:
    behaviour: ModeBehaviour
    record_mode: RecordMode

    @property
    def recording(self) -> bool:
        """Whether this mode records at all."""
        return self.behaviour.record and self.record_mode != "off"

    @property
    def continuous(self) -> bool:
        """Continuous segments follow the mode: a disarmed device records nothing."""
        return self.recording and self.record_mode == "continuous"

    def _clip_follows(self, record: bool) -> bool:
        # Not in continuous mode: the segment an event falls in may end minutes later.
        return record and self.record_mode == "events"

    def decide(self, event: Event) -> Actions:
        if isinstance(event, MotionStarted):  # the alert is opened; its label says if it goes out
            if not self.behaviour.motion_alerts:
                return NOTHING
            return Actions(
                alert=True,
                record=self.recording,
                clip_follows=self._clip_follows(self.recording),
            )
        if isinstance(event, MotionLabelled):
            if not self.behaviour.motion_alerts or event.label not in self.behaviour.alert_labels:
                return NOTHING
            return Actions(alert=True, snapshot=self.behaviour.snapshots, motion=True)
        if isinstance(event, MotionEnded):
            # (the recorder hears the end of whatever it heard start, whatever the mode now:
            # not the mode's to decide, device.runtime.reactions)
            if event.held or not event.alerted:  # never published: nothing is sent
                return NOTHING
            return Actions(
                alert=True,
                snapshot=self.behaviour.snapshots,
                motion=None if event.others_open else False,
            )
        if isinstance(event, PackageArrived):
            alerts = self.behaviour.motion_alerts and "package" in self.behaviour.alert_labels
            # indexed (the page's events list) where motion is, with a snapshot of it in place
            return Actions(
                alert=alerts,
                record=alerts and self.recording,
                snapshot=alerts and self.behaviour.snapshots,
            )
        if isinstance(event, PackageGone):
            return Actions(alert=True, snapshot=self.behaviour.snapshots)
        if isinstance(event, Ring):  # a ring is muted by no mode
            record = self.recording and event.has_frame
            return Actions(
                alert=True,
                record=record,
                snapshot=event.has_frame and self.behaviour.snapshots,
                clip_follows=self._clip_follows(record),
            )
        if isinstance(event, SnapshotAsked):  # a picture on demand follows the mode too
            return Actions(snapshot=self.behaviour.snapshots)
        if isinstance(event, ModeEntered):  # disarming ends the clip at that moment
            return Actions(stop_recording=not self.recording)
        return NOTHING
