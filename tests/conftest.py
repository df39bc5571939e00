"""Shared fixtures: a real mosquitto per test (the plugin's `mqtt_broker`, which other projects
use too), and a subscriber factory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.broker import MosquittoBroker
from tests.support.subscriber import Subscriber

# The plugin an installed package registers through its entry point, by the same name (so it is
# not registered twice): the project's tests use the fixtures other projects get.
pytest_plugins = ["doorbell.device.emulation.pytest_plugin"]


@pytest.fixture
def mosquitto(mqtt_broker: MosquittoBroker) -> MosquittoBroker:
    return mqtt_broker


@pytest.fixture
def subscribe(mosquitto: MosquittoBroker) -> Iterator[object]:
    opened: list[Subscriber] = []

    def make(*topics: str) -> Subscriber:
        sub = Subscriber(mosquitto.port, list(topics))
        opened.append(sub)
        return sub

    yield make
    for sub in opened:
        sub.close()
