"""After a crash: close what the crash left open, so no consumer waits for an `end` forever.

Runs once at start, after the recorder has repaired the clips (device.storage.repair) and before
any frame is read, so every event still open in the index was opened by the run that crashed. The
alert's `start` went into the outbox before its index row was written (device.reactions), so it
is either delivered already or still queued ahead of the `end` sent here, with the same id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from doorbell.config.device import EVENT_LABELS, EventLabel
from doorbell.device.classify.labels import UNKNOWN, Verdict
from doorbell.device.runtime.alerts import Alert, Alerts, Kind
from doorbell.device.storage.index import ClipRow, EventIndex, EventRow
from doorbell.device.storage.repair import RepairReport
from doorbell.uplink.messages import ClipRef

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovered:
    event_id: str
    clip: ClipRef | None


def close_crashed_events(
    index: EventIndex,
    repaired: RepairReport,
    alerts: Alerts,
    set_motion: Callable[[bool], None],
    clip_follows: bool,
) -> list[Recovered]:
    """Publish `end` (through the outbox) for every event the crash left open, with its repaired
    clip or none, complete its index row, and say motion `OFF` (retained): nothing moves yet.

    `clip_follows`: `record.mode: events`, where an alert's `end` waits for its clip, so an event
    that had ended but whose clip was cut short never had its `end` sent either."""
    unsent = {event.id: event for event in index.open_events()}
    for package in [e for e in unsent.values() if e.type == "package"]:
        del unsent[package.id]
        _forget_package(index, package)
    if clip_follows:
        for event_id in repaired.cut_short_events:
            cut = index.get_event(event_id)
            if cut is not None and cut.type != "package":  # a package's clip is its delivery's
                unsent[event_id] = cut
    recovered = [_close(index, alerts, event) for event in unsent.values()]
    set_motion(False)  # a crash mid-event left `ON` retained on the broker
    return recovered


def _forget_package(index: EventIndex, event: EventRow) -> None:
    """A possible package still there when the device stopped (or crashed) is not gone: no
    `end` (docs/classify.md: a restart forgets it); its row is closed at its start."""
    try:
        index.end_event(event.id, event.start_wall, event.score, event.zones)
    except OSError as exc:
        log.error("package row not closed: %s", exc, extra={"event_id": event.id})


def _close(index: EventIndex, alerts: Alerts, event: EventRow) -> Recovered:
    row = index.get_clip(event.clip_id) if event.clip_id else None
    clip = _clip_ref(row) if row is not None else None
    # The last time known for the event: its clip's last frame, else its start.
    end_wall = event.end_wall or max(event.start_wall, row.end_wall if row else event.start_wall)
    if event.end_wall is None:
        try:
            index.end_event(event.id, end_wall, event.score, event.zones)
        except OSError as exc:  # a full disk: the `end` goes all the same; the row next time
            log.error("event row not completed: %s", exc, extra={"event_id": event.id})
    kind: Kind = "ring" if event.type == "ring" else "motion"
    alerts.end_after_crash(
        Alert(
            id=event.id,
            type=kind,
            start_wall=event.start_wall,
            end_wall=end_wall,
            score=event.score,
            zones=event.zones,
            clip=clip,
            ended=True,
            # an event that had ended has the label it was given then; one cut short, unknown
            verdict=Verdict(label, {}) if (label := _label(event.label)) != "unknown" else UNKNOWN,
        )
    )
    log.warning(
        "event left open by a crash closed: end sent %s",
        f"with its {clip.state} clip {clip.file}" if clip else "without a clip",
        extra={"event_id": event.id},
    )
    return Recovered(event.id, clip)


def _label(text: str) -> EventLabel:
    """The index's label, as the message allows (anything else, from a newer index: unknown)."""
    return next((label for label in EVENT_LABELS if label == text), "unknown")


def _clip_ref(row: ClipRow) -> ClipRef | None:
    if row.state == "recording":  # repair runs first: only a clip it could not look at
        return None
    state = "damaged" if row.state == "damaged" else "complete"
    return ClipRef(
        file=row.file,
        seconds=round(row.seconds, 3),
        bytes=row.bytes,
        sha256=row.sha256,
        state=state,
    )
