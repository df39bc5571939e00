"""The JSON payloads the device publishes: one model each, so the contract lives in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from doorbell.config.device import EventLabel


def iso_utc(wall: float) -> str:
    """Unix seconds as ISO 8601 UTC with milliseconds, e.g. 2026-11-28T19:29:10.125Z."""
    text = datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


class ClipRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    seconds: float
    bytes: int
    sha256: str
    # `damaged`: cut short by a crash and repaired at the next start (it plays, but ends early)
    state: Literal["complete", "damaged"] = "complete"


class EventMessage(BaseModel):
    """Published on `event` twice per event: at `start` (the alert) and at `end` (with the clip)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    device: str
    type: Literal["motion", "ring", "package"]
    state: Literal["start", "end"]
    start: str
    end: str | None
    score: float
    boxes: list[list[float]]
    zones: list[str]
    clip: ClipRef | None
    # What moved, by the classifier's vote over the frames it has seen so far (docs/classify.md):
    # at `start` what was known when the alert went out, at `end` the final label. `unknown` for
    # a ring and on a device without the model. `labels`: the best score each label reached.
    label: EventLabel = "unknown"
    labels: dict[str, float] = Field(default_factory=dict)
    # A possible package's: the motion event that put it down (at `start`) or took it away (at
    # `end`); `clip` is that event's clip. None for motion and ring events.
    motion_event: str | None = None
