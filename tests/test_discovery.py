"""Home Assistant discovery: parses, carries what HA requires, names only topics that carry
traffic, re-sent when HA comes online, and off when configured off."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import cv2
import numpy as np
import paho.mqtt.publish as publish
import pytest

from tests.support.broker import MosquittoBroker
from tests.support.session_subscriber import SessionSubscriber
from tests.support.uplink_producer import config, event
from uplink.uplink import Uplink

DISCOVERY = "homeassistant/device/porch/config"
REQUIRED = {
    "binary_sensor": {"state_topic", "payload_on", "payload_off", "device_class"},
    "event": {"state_topic", "event_types", "device_class"},
    "image": {"image_topic"},
    "select": {"command_topic", "state_topic", "options"},
    "sensor": {"state_topic", "value_template", "entity_category"},
}


def platform(component: dict[str, object]) -> object:
    return component.get("platform", component.get("p"))  # "p" is HA's abbreviation


def started(mosquitto: MosquittoBroker, tmp_path: Path, **uplink: object) -> Uplink:
    up = Uplink(config(mosquitto.port, tmp_path, **uplink), tmp_path)
    up.start()
    deadline = time.monotonic() + 10
    while not up.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    return up


def test_discovery_is_complete_and_its_topics_carry_traffic(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    sub = SessionSubscriber(mosquitto.port, ["homeassistant/#", "doorbell/#"], client_id="ha")
    uplink = started(mosquitto, tmp_path)
    try:
        uplink.set_motion(True)
        uplink.publish_mode("home")
        uplink.send_ring(event("ring-1"))
        uplink.send_snapshot(cv2.imencode(".jpg", np.zeros((48, 64, 3), np.uint8))[1].tobytes())
        uplink.send_telemetry({"fps": 15.0, "uptime_s": 3.0, "outbox_backlog": 0})
        payloads = sub.on(DISCOVERY)
        assert payloads, "no discovery message"
        doc = json.loads(payloads[0])
        assert {"dev", "o", "cmps"} <= set(doc)
        assert doc["dev"].get("identifiers", doc["dev"].get("ids")) and doc["o"]["name"]
        assert doc["availability_topic"] == "doorbell/porch/status"
        platforms = {platform(c) for c in doc["cmps"].values()}
        assert platforms == set(REQUIRED)
        for key, component in doc["cmps"].items():
            assert REQUIRED[platform(component)] <= set(component), key
            assert component["unique_id"], key
        (doorbell,) = [c for c in doc["cmps"].values() if platform(c) == "event"]
        assert doorbell["device_class"] == "doorbell" and doorbell["event_types"]
        (select,) = [c for c in doc["cmps"].values() if platform(c) == "select"]
        assert set(select["options"]) == {"disarmed", "home", "away"}
        named = {v for c in doc["cmps"].values() for k, v in c.items() if k.endswith("_topic")}
        named.add(doc["availability_topic"])
        outgoing = named - {"doorbell/porch/cmd/mode"}
        for topic in sorted(outgoing):
            assert sub.on(topic), f"discovery names {topic} but nothing was published there"
        # the select's command reaches the device and is answered
        result_topic = "doorbell/porch/cmd/mode/result"
        template = select["command_template"].replace("{{ value }}", "away")
        template = re.sub(r"\{\{.*?\}\}", "1", template)  # HA renders the rest
        publish.single("doorbell/porch/cmd/mode", template, hostname="127.0.0.1",
                       port=mosquitto.port)  # fmt: skip
        assert sub.on(result_topic), "the select's command_topic is not listened to"
        # HA restarts: discovery again
        publish.single("homeassistant/status", "online", hostname="127.0.0.1",
                       port=mosquitto.port)  # fmt: skip
        assert len(sub.on(DISCOVERY, count=2)) == 2
    finally:
        uplink.stop(2)
        sub.close()


@pytest.mark.parametrize("enabled", [False])
def test_discovery_can_be_turned_off(
    mosquitto: MosquittoBroker, tmp_path: Path, enabled: bool
) -> None:
    sub = SessionSubscriber(mosquitto.port, ["homeassistant/#"], client_id="ha-off")
    uplink = started(mosquitto, tmp_path, homeassistant=enabled)
    try:
        assert uplink.connected
        publish.single("homeassistant/status", "online", hostname="127.0.0.1",
                       port=mosquitto.port)  # fmt: skip
        time.sleep(1.0)
        assert [t for t, _ in sub.payloads if t != "homeassistant/status"] == []
    finally:
        uplink.stop(2)
        sub.close()
