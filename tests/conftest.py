"""Shared fixtures: a real mosquitto per test, and a subscriber factory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import MosquittoBroker, find_mosquitto
from tests.support.subscriber import Subscriber


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoBroker]:
    if find_mosquitto() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mosquitto is missing on CI: ./dev.sh test installs it (apt-get)")
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    broker = MosquittoBroker(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()


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
