"""What a possible package's alert shows the owner (device.runtime.packages decides when).

Its `start` carries a snapshot of the package in place and names the motion event that put it
down (`motion_event`), with that event's clip when it is complete; its `end` (it is gone) names
the motion event that took it and waits for that clip, as a motion alert's `end` waits for its
own, with a snapshot of the empty place. Where the mode records, the package is a row of the
event index, so the page's events list shows it (`type: package`, `label: package`), its
thumbnail, the delivery's clip (`clip_id`) and the taker's (`end_clip_id`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from doorbell.device.classify.labels import Verdict
from doorbell.device.recording.recorder import Recorder
from doorbell.device.runtime.alerts import Alerts
from doorbell.device.runtime.frame import Frame
from doorbell.device.runtime.policy import PackageArrived, PackageGone, Policy
from doorbell.device.runtime.snapshots import send_snapshot
from doorbell.motion.types import Box
from doorbell.uplink.uplink import Uplink

log = logging.getLogger(__name__)


def where(box: Box) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in (box.x, box.y, box.w, box.h)) + "]"


class PackageAlerts:
    def __init__(
        self,
        policy: Callable[[], Policy],
        alerts: Alerts,
        echo: Callable[[str], None],
        moved: Callable[[], None] = lambda: None,
        recorder: Recorder | None = None,
        uplink: Uplink | None = None,
    ) -> None:
        """`moved`: called when a package that alerted arrives or goes. Without `recorder` and
        `uplink` (tests of the rules) the alerts go out without index rows or snapshots."""
        self.policy, self.alerts, self.echo, self.moved = policy, alerts, echo, moved
        self.recorder, self.uplink = recorder, uplink

    def arrived(
        self, box: Box, frame: Frame, scores: dict[str, float], bringer: str | None
    ) -> tuple[str, bool]:
        """Its alert, if the mode alerts: (its id or '', whether it is indexed)."""
        act = self.policy().decide(PackageArrived())
        if not act.alert:
            return "", False
        alert = self.alerts.start(
            "package",
            frame.wall,
            boxes=[box.as_list()],
            recording=False,
            verdict=Verdict("package", scores),
            motion_event=bringer,
        )
        self.echo(f"PACKAGE {alert.id} at {frame.t:.2f} s box {where(box)}")
        indexed = act.record and self._index(alert.id, frame.wall, bringer)
        if act.snapshot:
            self._snapshot(alert.id, frame, indexed)
        return alert.id, indexed

    def gone(self, alert_id: str, frame: Frame, taker: str | None, indexed: bool) -> None:
        act = self.policy().decide(PackageGone())
        self.echo(f"PACKAGE GONE {alert_id} at {frame.t:.2f} s")
        self.alerts.follow_clip(alert_id, taker)  # before the end: it waits for that clip
        if indexed and self.recorder is not None:
            index = self.recorder.index
            try:
                index.end_event(alert_id, frame.wall, 0.0, [])
                if (clip := self._clip_of(taker)) is not None:
                    index.link_end_clip(alert_id, clip)
            except OSError as exc:  # a full disk: the alert goes all the same
                log.error("package's end not indexed: %s", exc, extra={"event_id": alert_id})
        if act.snapshot:
            self._snapshot(alert_id, frame, store=False)  # the empty place: sent, not stored
        self.alerts.end(alert_id, frame.wall)
        self.moved()

    def _index(self, alert_id: str, wall: float, bringer: str | None) -> bool:
        if self.recorder is None:
            return False
        index = self.recorder.index
        try:
            index.add_event(alert_id, "package", wall)
            index.set_label(alert_id, "package")
            if (clip := self._clip_of(bringer)) is not None:
                index.link_event(clip, alert_id)
        except OSError as exc:  # a full disk: the alert has gone out all the same
            log.error("package not indexed: %s", exc, extra={"event_id": alert_id})
            return False
        return True

    def _clip_of(self, motion_event: str | None) -> str | None:
        """The id of the clip a motion event is in (being written or complete), if any."""
        if motion_event is None or self.recorder is None:
            return None
        row = self.recorder.index.get_event(motion_event)
        return row.clip_id if row is not None else None

    def _snapshot(self, alert_id: str, frame: Frame, store: bool) -> None:
        """Stored and indexed (`store`: its row exists) or only taken, and published."""
        if self.recorder is not None and self.uplink is not None:
            send_snapshot(self.recorder, self.uplink, alert_id, frame, store)
