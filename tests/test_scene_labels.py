"""The scenes' actors drawn from real photographs are recognised: each event of a scene that
covers a ground-truth alert with a `label` carries that label, by the real model through
`doorbell analyze` (the scenes: device/emulation/scenarios, their photographs: imagery/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from doorbell.device.classify.model_file import default_model
from doorbell.device.emulation.scenarios import LIBRARY, list_scenarios, load_scenario
from doorbell.device.emulation.scenarios.spec import Scene


def labelled(name: str) -> bool:
    """Whether the scene has an actor with a `label`; read from its spec alone, at collection
    (a whole Scenario draws its background and photographs: 1.4 s for the library, per worker)."""
    spec = Scene.model_validate(yaml.safe_load((LIBRARY / f"{name}.yaml").read_text()))
    return any(a.label for a in spec.actors)


LABELLED = [n for n in list_scenarios() if labelled(n)]


def test_the_library_has_a_person_and_an_animal_from_photographs() -> None:
    labels = {a.label for n in LABELLED for a in load_scenario(n).truth.alerts}
    assert {"person", "animal"} <= labels


@pytest.mark.parametrize("name", LABELLED)
def test_each_labelled_visitor_gets_its_label(name: str) -> None:
    if not default_model().is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the classifier's model is missing on CI ({default_model()})")
        pytest.skip(f"the classifier's model is not installed ({default_model()})")
    done = subprocess.run(
        [sys.executable, "-m", "doorbell.device", "analyze", f"synthetic:{name}", "--json", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    events = json.loads(done.stdout)["events"]
    for truth in load_scenario(name).truth.alerts:
        if truth.label is None:
            continue
        covering = [
            e
            for e in events
            if e["start_frame"] <= truth.end_frame and truth.start_frame <= e["end_frame"]
        ]
        assert covering, (name, truth)
        assert all(e["label"] == truth.label for e in covering), (name, truth, covering)
