"""pytest plugin (entry point `pytest11`): a real mosquitto and emulated doorbells as fixtures.

    def test_my_alert_service(doorbell, mqtt_broker):
        my_service = start_my_service(mqtt_broker.url)  # subscribes to doorbell/+/event
        doorbell.visit()
        alert = doorbell.wait_for_event("motion", "start")
        assert my_service.notified(alert.id)

    @pytest.mark.doorbell_scenario("walk_up_ring")           # which scene the camera plays
    @pytest.mark.doorbell_config({"camera": {"speed": 1}})   # laid over the emulated defaults
    def test_...(doorbell): ...

Fixtures: `mqtt_broker` (a `MosquittoBroker` on a free loopback port, stopped afterwards; the
test is skipped when mosquitto is not installed, and fails instead when CI=true), `doorbell`
(a started `Doorbell` connected to it, stopped afterwards) and `make_doorbell` (more of them:
`make_doorbell(device_id="back-door", scenario=...)`). Emulated doorbells run at
`DEFAULT_SPEED` times real time unless the config says otherwise.

pytest loads this module into every session of an environment that has doorbell installed, so it
imports nothing of the runtime (nor numpy, OpenCV or paho) until a fixture is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from doorbell.device.emulation.emulator import Doorbell
    from doorbell.device.emulation.mosquitto import MosquittoBroker

DEFAULT_SPEED = 4.0  # frame time runs 4x the host's: a visit's alert and end come in seconds
MakeDoorbell = Callable[..., "Doorbell"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "doorbell_scenario(name): the scenario the `doorbell` fixture's camera plays"
    )
    config.addinivalue_line(
        "markers", "doorbell_config(values): a config dict laid over the emulated defaults"
    )


@pytest.fixture
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """A real mosquitto on a free loopback port, anonymous, for this test."""
    from doorbell.device.emulation.mosquitto import MosquittoBroker, find_mosquitto

    if find_mosquitto() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mosquitto is missing on CI (apt-get install mosquitto)")
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


def _marked(request: pytest.FixtureRequest) -> tuple[str | None, dict[str, Any]]:
    scenario_mark = request.node.get_closest_marker("doorbell_scenario")
    config_mark = request.node.get_closest_marker("doorbell_config")
    scenario = scenario_mark.args[0] if scenario_mark and scenario_mark.args else None
    values: dict[str, Any] = dict(config_mark.args[0]) if config_mark and config_mark.args else {}
    return scenario, values


@pytest.fixture
def make_doorbell(
    mqtt_broker: MosquittoBroker, request: pytest.FixtureRequest
) -> Iterator[MakeDoorbell]:
    """Starts emulated doorbells on `mqtt_broker`; each is stopped after the test."""
    from doorbell.config.sources import merge
    from doorbell.device.emulation.emulator import Doorbell

    started: list[Doorbell] = []
    marked_scenario, marked_config = _marked(request)

    def make(
        config: Mapping[str, Any] | None = None,
        *,
        scenario: str | None = None,
        device_id: str | None = None,
        data_dir: Path | None = None,
    ) -> Doorbell:
        values = merge({"camera": {"speed": DEFAULT_SPEED}}, marked_config)
        bell = Doorbell(
            merge(values, config or {}),
            scenario=scenario or marked_scenario,
            device_id=device_id or f"emulated-{len(started) + 1}",
            data_dir=data_dir,
            host="127.0.0.1",
            port=mqtt_broker.port,
        )
        started.append(bell)
        return bell.start()

    yield make
    for bell in started:
        bell.stop()


@pytest.fixture
def doorbell(make_doorbell: MakeDoorbell) -> Doorbell:
    """An emulated doorbell (id `emulated-1`), started and connected to `mqtt_broker`."""
    return make_doorbell()
