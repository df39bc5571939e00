"""Scripted scenes with ground truth: the emulated camera feed for CI and development."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from doorbell.device.emulation.scenarios.scenario import Scenario
from doorbell.device.emulation.scenarios.spec import Scene
from doorbell.device.emulation.scenarios.truth import (
    ActorTruth,
    FrameTruth,
    GroundTruth,
    TruthEvent,
)

LIBRARY = Path(__file__).parent

__all__ = [
    "ActorTruth",
    "FrameTruth",
    "GroundTruth",
    "Scenario",
    "ScenarioError",
    "TruthEvent",
    "list_scenarios",
    "load_scenario",
]


class ScenarioError(ValueError):
    """A scenario that does not exist or does not parse; the message is meant for the user."""


def list_scenarios() -> list[str]:
    return sorted(p.stem for p in LIBRARY.glob("*.yaml"))


def load_scenario(name_or_path: str, seed: int | None = None) -> Scenario:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = LIBRARY / f"{name_or_path}.yaml"
        if not path.is_file():
            known = ", ".join(list_scenarios())
            raise ScenarioError(f"unknown scenario {name_or_path!r} (allowed: {known})")
    try:
        scene = Scene.model_validate(yaml.safe_load(path.read_text()))
        if scene.background != "porch":  # an image file, relative to the scenario file
            image = (path.parent / scene.background).resolve()
            scene = scene.model_copy(update={"background": str(image)})
        return Scenario(scene, seed)
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror}") from None
    except (yaml.YAMLError, ValidationError, ValueError) as exc:
        first = str(exc).splitlines()
        raise ScenarioError(f"{path}: invalid scenario: {' '.join(first[:3])}") from None
