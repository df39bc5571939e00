"""What a finished clip is, as the rest of the device sees it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ClipInfo:
    event_ids: tuple[str, ...]
    path: Path  # absolute, inside data_dir
    start_t: float  # frame time of its first frame
    seconds: float
    frames: int
    bytes: int
    sha256: str
    state: str = "complete"  # or "damaged"
