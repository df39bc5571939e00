"""Ground truth: who is where in each frame, and which events should alert."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ActorTruth:
    name: str
    kind: str
    box: tuple[float, float, float, float]  # normalised x, y, w, h (clipped to the frame)


@dataclass(frozen=True)
class FrameTruth:
    seq: int
    actors: list[ActorTruth] = field(default_factory=list)


@dataclass(frozen=True)
class TruthEvent:
    """An event a doorbell should alert on: frames in which the actor is clearly in view."""

    name: str
    kind: str
    start_frame: int
    end_frame: int
    label: str | None = None  # what the classifier should call it (an actor from a photograph)


@dataclass
class GroundTruth:
    frames: list[FrameTruth]
    alerts: list[TruthEvent]
    rings: list[int] = field(default_factory=list)  # frames during which the button is pressed

    def to_json(self) -> dict[str, object]:
        return {
            "alerts": [asdict(a) for a in self.alerts],
            "rings": self.rings,
            "frames": [
                {"seq": f.seq, "actors": [asdict(a) for a in f.actors]}
                for f in self.frames
                if f.actors
            ],
        }
