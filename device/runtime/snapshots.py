"""An alert's snapshot: stored in the index and published (a motion or ring alert, a package's
arrival), or only published (a package's empty place). A full card costs the snapshot, never
the alert."""

from __future__ import annotations

import logging

from doorbell.device.recording.recorder import Recorder
from doorbell.device.runtime.frame import Frame
from doorbell.uplink.uplink import Uplink

log = logging.getLogger(__name__)


def send_snapshot(
    recorder: Recorder, uplink: Uplink, alert_id: str, frame: Frame, store: bool = True
) -> None:
    """`frame`'s main picture as JPEG to the broker; kept under `alert_id` when `store` (its
    index row exists)."""
    try:
        if store:
            snap = recorder.save_snapshot(alert_id, frame.main)
        else:
            snap = recorder.snapshot(frame.main)
    except OSError as exc:
        log.error("snapshot not taken: %s", exc, extra={"event_id": alert_id})
        return
    uplink.send_snapshot(snap.jpeg, snap.picture)
