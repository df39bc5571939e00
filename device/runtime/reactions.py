"""What the device does about an event: asks the mode policy (device.policy) and carries out
its actions on the alerts, the recorder and the uplink.

Called from the analysis thread (motion), the recording thread (clips) and any thread (a ring:
the button, the control socket, MQTT).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from doorbell.device.recording.recorder import Recorder
from doorbell.device.runtime.alerts import Alerts
from doorbell.device.runtime.frame import Frame
from doorbell.device.runtime.policy import Actions, MotionEnded, MotionStarted, Policy, Ring
from doorbell.motion.types import EventUpdate, MotionEvent, MotionResult
from doorbell.uplink.uplink import Uplink

log = logging.getLogger(__name__)


@dataclass
class ActiveMotion:
    event: MotionEvent
    alert_id: str
    peak: Frame  # the frame at the event's highest score so far


class Reactions:
    def __init__(
        self,
        policy: Callable[[], Policy],
        alerts: Alerts,
        recorder: Recorder,
        uplink: Uplink,
        echo: Callable[[str], None],
        wall_clock: Callable[[], float],
    ) -> None:
        """`policy`: the current mode's rules, asked afresh for each event."""
        self.policy, self.alerts, self.recorder, self.uplink = policy, alerts, recorder, uplink
        self.echo, self.wall_clock = echo, wall_clock
        self._active: dict[int, ActiveMotion] = {}  # id(MotionEvent) -> its alert
        self.last_frame: Frame | None = None

    # -- analysis thread ------------------------------------------------------------------------
    def on_analysed(self, updates: list[EventUpdate], result: MotionResult, frame: Frame) -> None:
        self.last_frame = frame
        for active in self._active.values():
            if active.event.peak_seq == frame.seq:
                # A reference, not a copy. The recorder may or may not have masked `main` in
                # place yet (its own thread); the snapshot is masked either way, by JpegPicture
                # on a copy of its own.
                active.peak = frame
        for update in updates:
            if update.kind == "start":
                self._motion_started(update.event, frame)
            elif update.kind == "end":
                self._motion_ended(update.event, frame)
            elif update.kind == "stationary" and update.event.box is not None:
                log.info("something arrived and stayed: %s", update.event.box.as_list())

    def _motion_started(self, event: MotionEvent, frame: Frame) -> None:
        act = self.policy().decide(MotionStarted())
        if not act.alert:
            return
        offset = frame.wall - frame.t
        alert = self.alerts.start(
            "motion",
            offset + event.start_t,
            score=event.peak_score,
            boxes=[b.as_list() for b in event.peak_boxes],
            zones=sorted(event.zones),
            recording=act.clip_follows,
        )
        self._active[id(event)] = ActiveMotion(event, alert.id, frame)
        log.info("motion started, score %.1f%%", event.peak_score, extra={"event_id": alert.id})
        self.echo(
            f"ALERT motion {alert.id} at {event.start_t:.2f} s "
            f"score {event.peak_score:.1f}% zones {','.join(sorted(event.zones)) or '-'}"
        )
        self._set_motion(act)
        if act.record:
            self.recorder.event_started(alert.id, "motion", event.start_t, offset + event.start_t)
        if act.snapshot:
            self._snapshot(alert.id, frame)

    def _motion_ended(self, event: MotionEvent, frame: Frame) -> None:
        active = self._active.pop(id(event), None)
        act = self.policy().decide(MotionEnded(active is not None, bool(self._active)))
        if active is None or not act.alert:
            return
        offset = frame.wall - frame.t
        zones = sorted(event.zones)
        log.info(
            "motion ended after %.1f s",
            event.end_t - event.start_t,
            extra={"event_id": active.alert_id},
        )
        self._set_motion(act)
        if act.record:
            self.recorder.event_ended(
                active.alert_id, event.end_t, offset + event.end_t, event.peak_score, zones
            )
        if act.snapshot:
            self._snapshot(active.alert_id, active.peak)
        self.alerts.end(
            active.alert_id,
            offset + event.end_t,
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
            self._snapshot(alert.id, frame)
        self.alerts.end(alert.id, wall)
        return alert.id

    # -- recording ------------------------------------------------------------------------------
    def _snapshot(self, alert_id: str, frame: Frame) -> None:
        try:
            snap = self.recorder.save_snapshot(alert_id, frame.main)
        except OSError as exc:
            log.error("snapshot not saved: %s", exc, extra={"event_id": alert_id})
            return
        self.uplink.send_snapshot(snap.jpeg, snap.picture)
