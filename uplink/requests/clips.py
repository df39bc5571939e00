"""What footage requests need from the clip index (device/storage's EventIndex satisfies it),
and the clips a claimed request is to share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from doorbell.uplink.requests.models import FootageRequest, RedactMode, SharedClip

SHAREABLE_STATES = ("complete", "damaged")


class ClipLike(Protocol):
    @property
    def id(self) -> Any: ...
    @property
    def file(self) -> str: ...  # relative to data_dir
    @property
    def start_wall(self) -> float: ...
    @property
    def end_wall(self) -> float: ...
    @property
    def seconds(self) -> float: ...
    @property
    def bytes(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def snapshot(self) -> str | None: ...  # relative to data_dir


class ClipIndex(Protocol):
    def clips_between(self, start_wall: float, end_wall: float) -> Sequence[ClipLike]: ...


def clips_in_window(index: ClipIndex, start_wall: float, end_wall: float) -> list[ClipLike]:
    """Finished clips lying wholly inside the window: a clip that began before the window or
    ends after it would show footage nobody asked for, so it is left out."""
    return [
        clip
        for clip in index.clips_between(start_wall, end_wall)
        if clip.start_wall >= start_wall
        and clip.end_wall <= end_wall
        and clip.state in SHAREABLE_STATES
    ]


def planned_clips(clips: Sequence[ClipLike]) -> list[SharedClip]:
    """What a share will send, as the reply and the store describe it."""
    return [
        SharedClip(id=str(c.id), seconds=c.seconds, bytes=c.bytes, sha256=c.sha256) for c in clips
    ]


@dataclass(frozen=True)
class PendingUpload:
    """A request claimed for sharing whose clips are still to be uploaded."""

    request: FootageRequest
    clips: tuple[ClipLike, ...]
    reply_to: str  # the command whose result topic is told the outcome
    redact: RedactMode = "faces"  # what to do to the footage before it leaves
