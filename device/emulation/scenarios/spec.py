"""The YAML format of a scenario (docs/scenarios.md): validated like the device's config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from doorbell.config.device import EventLabel


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Waypoint(Spec):
    """Where an actor is at time `t`: bottom-centre (x, y) normalised, height as share of frame."""

    t: float = Field(ge=0.0)
    x: float = Field(ge=-0.5, le=1.5)
    y: float = Field(ge=-0.5, le=2.5)
    size: float = Field(gt=0.0, le=3.0)


class Actor(Spec):
    name: str
    kind: Literal["person", "package", "car", "animal", "insect"]
    path: list[Waypoint] = Field(min_length=1)
    colour: tuple[int, int, int] = (60, 60, 140)  # BGR of clothes / body
    alert: bool = False  # should a doorbell alert on it?
    seed: int = 0
    # A real photograph instead of a drawn sprite (sprites.PHOTOS; imagery/README.md), and the
    # label the classifier should give it: the ground truth's `label` for its events.
    image: Literal["astronaut", "chelsea"] | None = None
    label: EventLabel | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Actor:
        times = [w.t for w in self.path]
        if times != sorted(times):
            raise ValueError("path waypoints must be in time order")
        if self.label is not None and self.image is None:
            raise ValueError("a label is expected only of an actor drawn from a photograph")
        return self


class Effect(Spec):
    kind: Literal[
        "light_step",
        "ramp",
        "exposure_drift",
        "ir_switch",
        "rain",
        "snow",
        "foliage",
        "shake",
        "cloud",
        "headlights",
        "leaves",
        "jitter",
        "compression",
        "pan",
    ]
    start: float = Field(0.0, ge=0.0)
    end: float | None = Field(None, ge=0.0)
    gain: float = Field(1.0, gt=0.0, le=10.0)  # light_step, ramp (final gain), cloud (shade)
    # streak count scale, sway/shake/jitter pixels, pan px/s, compression: JPEG quality (1-100), ...
    amount: float = Field(1.0, ge=0.0, le=100.0)
    period: float = Field(2.0, gt=0.0, le=600.0)  # seconds: sway, drift, sweep


class Scene(Spec):
    name: str
    kind: Literal["visit", "false_alarm", "demo"]
    description: str = ""
    duration: float | None = Field(30.0, gt=0.0, le=24 * 3600)  # None: endless
    fps: float = Field(15.0, gt=0.0, le=60.0)
    width: int = Field(640, ge=64, le=3840)
    height: int = Field(480, ge=48, le=2160)
    seed: int = 0
    night: bool = False  # IR: grey picture, more noise
    noise: float = Field(
        2.0, ge=0.0, le=40.0
    )  # read noise sigma (levels); shot noise adds in the dark
    background: str = "porch"  # "porch" or an image file path
    actors: list[Actor] = Field(default_factory=list)
    effects: list[Effect] = Field(default_factory=list)
    # Seconds at which the visitor presses the doorbell button (repeated with `repeat_every`).
    rings: list[float] = Field(default_factory=list)
    repeat_every: float | None = Field(None, gt=0.0)  # actors' paths repeat (endless scenes)
