"""The one interface every camera source follows: open, read frames, close, report drops."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from doorbell.device.runtime.frame import Frame


@dataclass
class SourceStats:
    frames: int = 0
    dropped: int = 0
    reopens: int = 0
    stalls: int = 0


class SourceError(Exception):
    """A source that cannot be opened or used; the message is meant for the user."""


class Source(ABC):
    """A camera, a file or a generator. `read()` returns the next frame, or None at the end.
    Sources deliver frames and know nothing of recording (a camera that encodes is wired to the
    recorder by `device.recording.picamera2_stream.camera_stream`).

    Sources do not pace themselves to the wall clock: `device.runtime.pacing` does that, so the same
    source can run in real time or as fast as the machine allows.
    """

    name: str = "source"
    width: int = 0
    height: int = 0
    fps: float = 15.0
    lores_size: tuple[int, int] = (320, 240)
    live: bool = False  # a live camera paces itself; a file or generator does not
    start_wall: float = 0.0  # files and generators: the wall-clock time of their frame t = 0

    def __init__(self) -> None:
        self.stats = SourceStats()

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def read(self) -> Frame | None: ...

    @abstractmethod
    def close(self) -> None: ...

    def set_start_wall(self, wall: float) -> None:
        """Pin frame time 0 to this wall-clock time (just before the first frame is read)."""
        self.start_wall = wall

    def __enter__(self) -> Source:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
