"""The camera of an emulated doorbell: a scripted scene that can be driven while it runs.

A scenario (or, by default, the quiet porch: nobody about, endless) is rendered frame by frame
like `synthetic:NAME`; after a finite scenario's script is over the porch simply stays quiet, so
the device keeps running. `visit()` sends a visitor up the path from the next frame on,
`lights_off()` dims the porch light. Both build a new `Scenario` from the scene plus the added
actor or effect: the scenario library and its ground truth are never touched, and frames in
which nothing added is visible are the same pixels the scenario alone renders (actors keep their
sprites, the noise its seed).
"""

from __future__ import annotations

import threading

from doorbell.config.camera import CameraConfig
from doorbell.device.emulation.scenarios import Scenario, ScenarioError, load_scenario
from doorbell.device.emulation.scenarios.spec import Actor, Effect, Scene, Waypoint
from doorbell.device.emulation.synthetic_source import scenario_frame
from doorbell.device.runtime.frame import Frame
from doorbell.device.sources.base import Source, SourceError

QUIET = "quiet"  # the default: the porch with nobody about, endless
# A visitor's walk, in seconds from its start: up the path from the street, a wait at the door,
# back again (the porch scenario's visitor, without the repeat).
VISIT_PATH = ((0.0, 0.31, 0.08), (5.0, 0.95, 0.75), (9.0, 0.95, 0.75), (14.0, 0.31, 0.08))
VISIT_SECONDS = VISIT_PATH[-1][0]
LIGHTS_OFF_GAIN = 0.35  # the porch light off: about a third of the light is left


def quiet_scene() -> Scene:
    return Scene(
        name=QUIET,
        kind="demo",
        description="The porch with nobody about, endless: visitors come when asked.",
        duration=None,
    )


def scripted_scenario(name: str | None) -> Scenario:
    """A library scenario (or a YAML path), or the quiet porch; raises SourceError."""
    if name in (None, "", QUIET):
        return Scenario(quiet_scene())
    try:
        return load_scenario(name)
    except ScenarioError as exc:
        raise SourceError(str(exc)) from None


class EmulatedCamera(Source):
    """Frames t = seq / fps, wall = start_wall + t, like the synthetic source; never ends."""

    name = "emulated"

    def __init__(self, scenario: str | None, camera: CameraConfig) -> None:
        super().__init__()
        base = scripted_scenario(scenario)
        asked = {"width": camera.width, "height": camera.height, "fps": camera.fps}
        overrides = {key: value for key, value in asked.items() if value is not None}
        self._scene = base.scene.model_copy(update=overrides) if overrides else base.scene
        self._seed = base.seed
        self.lores_size = (camera.lores_width, camera.lores_height)
        self._scenario = self._build(self._scene) if overrides else base
        self._scenario.lores_size = self.lores_size
        self.width, self.height, self.fps = self._scene.width, self._scene.height, self._scene.fps
        self._lock = threading.Lock()  # visit() and lights_off() come from other threads
        self._visits = 0
        self._seq = 0

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    def now(self) -> float:
        """The frame time of the next frame."""
        return self._seq / self.fps

    def visit(self, lead: float = 0.0) -> float:
        """A visitor starts up the path `lead` seconds (frame time) after the next frame; returns
        the frame time at which the walk starts. Refused for a scene whose actors repeat."""
        if self._scene.repeat_every:
            raise ValueError(
                f"scenario {self._scene.name!r} repeats every {self._scene.repeat_every:g} s, "
                "so a visit cannot be added to it; use a scenario that does not repeat"
            )
        with self._lock:
            start = self.now() + lead
            self._visits += 1
            visitor = Actor(
                name=f"visitor-{self._visits}",
                kind="person",
                alert=True,
                colour=(60, 50, 150),
                seed=self._visits,
                path=[Waypoint(t=start + dt, x=0.5, y=y, size=s) for dt, y, s in VISIT_PATH],
            )
            self._replace(actors=[*self._scene.actors, visitor])
        return start

    def lights_off(self) -> float:
        """The porch light goes off at the next frame (a lighting change: no alert is due)."""
        with self._lock:
            start = self.now()
            dark = Effect(kind="light_step", start=start, gain=LIGHTS_OFF_GAIN)
            self._replace(effects=[*self._scene.effects, dark])
        return start

    def _replace(self, **update: object) -> None:
        self._scene = self._scene.model_copy(update=update)
        scenario = self._build(self._scene)
        scenario.lores_size = self.lores_size
        self._scenario = scenario  # one reference swap: the capture thread sees old or new

    def _build(self, scene: Scene) -> Scenario:
        return Scenario(scene, self._seed)

    def open(self) -> None:
        self._seq = 0

    def read(self) -> Frame | None:
        seq = self._seq
        self._seq += 1
        self.stats.frames += 1
        return scenario_frame(self._scenario, seq, seq, self.fps, self.start_wall)

    def close(self) -> None:
        pass
