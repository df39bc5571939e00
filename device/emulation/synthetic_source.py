"""The scripted scene generator as a camera: `synthetic` (the endless porch) or `synthetic:NAME`."""

from __future__ import annotations

import time

from doorbell.config.camera import CameraConfig
from doorbell.device.emulation.scenarios import Scenario, ScenarioError, load_scenario
from doorbell.device.runtime.frame import Frame, i420_of
from doorbell.device.sources.base import Source, SourceError


def scenario_frame(
    scenario: Scenario, seq: int, local: int, fps: float, start_wall: float
) -> Frame:
    """Frame `seq` of a scripted camera showing the scenario's frame `local`: t = seq / fps,
    wall = start_wall + t. The scene is drawn in BGR; converted once here, it travels as a
    camera's frames do (I420), with the scene's button presses."""
    main, lores = scenario.render(local)
    t = seq / fps
    return Frame(seq, t, start_wall + t, i420_of(main), lores, scenario.rings_during(local))


class SyntheticSource(Source):
    """Frames from a scenario: t = seq / fps, wall = start_wall + t. Same seed, same frames."""

    name = "synthetic"

    def __init__(self, scenario: str | None, camera: CameraConfig, start_wall: float | None = None):
        super().__init__()
        try:
            base = load_scenario(scenario or "porch")
        except ScenarioError as exc:
            raise SourceError(str(exc)) from None
        overrides = {
            key: value
            for key, value in (
                ("width", camera.width),
                ("height", camera.height),
                ("fps", camera.fps),
            )
            if value is not None
        }
        self.scenario: Scenario = (
            Scenario(base.scene.model_copy(update=overrides), base.seed) if overrides else base
        )
        self.width, self.height = self.scenario.width, self.scenario.height
        self.fps = self.scenario.fps
        self.lores_size = (camera.lores_width, camera.lores_height)
        self.scenario.lores_size = self.lores_size
        self.loop = camera.loop
        self.frame_count = self.scenario.frame_count
        self.start_wall = time.time() if start_wall is None else start_wall
        self._seq = 0

    def open(self) -> None:
        self._seq = 0

    def read(self) -> Frame | None:
        seq = self._seq
        count = self.scenario.frame_count
        if count is not None and seq >= count and not self.loop:
            return None
        local = seq % count if count else seq
        self._seq += 1
        self.stats.frames += 1
        return scenario_frame(self.scenario, seq, local, self.fps, self.start_wall)

    def close(self) -> None:
        pass
