"""Every Home Assistant discovery payload against a schema written from Home Assistant's MQTT
documentation (tests/support/ha_discovery_schema.py): documented keys only, `default_entity_id`
with the full entity id (never the retired `object_id`), a doorbell that offers `ring`."""

from __future__ import annotations

import json
from typing import Any

import jinja2
import pytest
from pydantic import ValidationError

from doorbell.uplink.discovery import discovery_payload
from doorbell.uplink.messages import EventMessage
from doorbell.uplink.topics import Topics
from tests.support.ha_discovery_schema import validate_device_discovery


def payload(device_id: str = "porch", unsigned: tuple[str, ...] = ("mode",)) -> dict[str, Any]:
    return discovery_payload(device_id, Topics(f"doorbell/{device_id}"), unsigned)


@pytest.mark.parametrize("unsigned", [(), ("mode", "snapshot")])
@pytest.mark.parametrize("device_id", ["porch", "Back-Door_2"])
def test_every_component_is_valid_and_has_its_full_entity_id(
    device_id: str, unsigned: tuple[str, ...]
) -> None:
    message = payload(device_id, unsigned)
    entities = validate_device_discovery(message)
    assert set(entities) == set(message["cmps"])
    slug = device_id.lower().replace("-", "_")
    for name, entity in entities.items():
        assert entity.default_entity_id == f"{entity.platform}.doorbell_{slug}_{name}"
        assert "object_id" not in message["cmps"][name]
    ids = [e.default_entity_id for e in entities.values()]
    assert len(set(ids)) == len(ids)


def test_the_doorbell_event_type_is_ring_for_what_the_device_publishes() -> None:
    ring = payload()["cmps"]["ring"]
    assert ring["event_types"] == ["ring"]
    # what the device sends on <base>/ring, through Home Assistant's value_template
    message = EventMessage(
        id="e1",
        device="porch",
        type="ring",
        state="start",
        start="2026-11-29T18:00:00.000Z",
        end=None,
        score=0.0,
        boxes=[],
        zones=[],
        clip=None,
    )
    env = jinja2.Environment(autoescape=False)
    env.filters["to_json"] = json.dumps
    rendered = env.from_string(ring["value_template"]).render(
        value=message.model_dump_json(), value_json=json.loads(message.model_dump_json())
    )
    event = json.loads(rendered)
    assert event["event_type"] in ring["event_types"]
    assert json.loads(message.model_dump_json())["type"] == event["event_type"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda c: c["motion"].update(object_id="doorbell_porch_motion"), "object_id"),
        (lambda c: c["ring"].update(event_types=["press"]), "'ring' event type"),
        (lambda c: c["motion"].update(default_entity_id="doorbell_porch_motion"), "<id>"),
        (lambda c: c["mode"].pop("options"), "options"),
        (lambda c: c["fps"].update(state_clas="measurement"), "state_clas"),
        (lambda c: c["snapshot"].pop("image_topic"), "image_topic"),
        (lambda c: c["motion"].update(p="binary"), "platform"),
    ],
    ids=["object_id", "no-ring", "bare-entity-id", "no-options", "typo", "no-image", "platform"],
)
def test_the_schema_refuses_what_home_assistant_does_not_document(change: Any, needle: str) -> None:
    message = payload()
    change(message["cmps"])
    with pytest.raises((ValidationError, ValueError), match=needle):
        validate_device_discovery(message)


def test_home_assistant_is_offered_only_the_commands_it_may_send_unsigned() -> None:
    locked = payload(unsigned=())["cmps"]
    assert not [c for c in locked.values() if "command_topic" in c]  # nothing to command with
    assert locked["mode"]["p"] == "sensor"  # the mode still shows
    opened = payload(unsigned=("mode", "snapshot"))["cmps"]
    assert opened["mode"]["p"] == "select"
    assert opened["mode"]["command_topic"] == "doorbell/porch/cmd/mode"
    assert opened["take_snapshot"]["command_topic"] == "doorbell/porch/cmd/snapshot"
    assert "take_snapshot" not in payload(unsigned=("mode",))["cmps"]
