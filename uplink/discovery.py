"""Home Assistant MQTT discovery: one device-based message (`dev`, `o`, `cmps`) for every entity.

Published retained on `<prefix>/device/<device_id>/config` after each connect and whenever Home
Assistant announces `online` on `<prefix>/status` (it forgets non-retained config on restart).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from importlib import metadata
from typing import Any

from doorbell.config.device import EVENT_LABELS, MODES
from doorbell.uplink.topics import Topics

# telemetry key -> (name, unit, device_class)
DIAGNOSTICS: dict[str, tuple[str, str | None, str | None]] = {
    "fps": ("Frame rate", "fps", None),
    "dropped_camera": ("Frames dropped by the camera", None, None),
    "outbox_backlog": ("Alerts waiting to be sent", None, None),
    "outbox_dropped": ("Alerts dropped from the outbox", None, None),
    "disk_used_pct": ("Disk used", "%", None),
    "cpu_temp_c": ("CPU temperature", "°C", "temperature"),
    "uptime_s": ("Uptime", "s", "duration"),
}


def software_version() -> str:
    try:
        return metadata.version("doorbell")
    except metadata.PackageNotFoundError:
        return "unknown"


def _slug(text: str) -> str:
    """What Home Assistant allows in an entity id: a device id may hold capitals and dashes."""
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


def discovery_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/device/{device_id}/config"


def discovery_payload(
    device_id: str, topics: Topics, unsigned: Collection[str] = ()
) -> dict[str, Any]:
    """Home Assistant cannot sign commands: it is offered only those listed in
    `uplink.commands.unsigned` (a mode select for `mode`, a button for `snapshot`); without them
    the mode is a read-only sensor."""
    version = software_version()
    uid = f"doorbell_{device_id}"
    cmps: dict[str, dict[str, Any]] = {
        "motion": {
            "p": "binary_sensor",
            "name": "Motion",
            "device_class": "motion",
            "state_topic": topics.motion,
            "payload_on": "ON",
            "payload_off": "OFF",
        },
        **{
            f"motion_{label}": {
                "p": "binary_sensor",
                "name": f"Motion: {label}",
                "device_class": "occupancy" if label in ("person", "animal") else "motion",
                "state_topic": topics.motion_label(label),
                "payload_on": "ON",
                "payload_off": "OFF",
            }
            for label in EVENT_LABELS
            if label != "unknown"  # one sensor per thing worth naming, as Frigate per object
        },
        "ring": {
            "p": "event",
            "name": "Doorbell",
            "device_class": "doorbell",
            # Home Assistant's doorbell event type; the topic carries only rings ("type": "ring")
            "event_types": ["ring"],
            "state_topic": topics.ring,
            "value_template": '{{ {"event_type": "ring"} | to_json }}',
        },
        "snapshot": {
            "p": "image",
            "name": "Snapshot",
            "image_topic": topics.snapshot,
            "content_type": "image/jpeg",
        },
    }
    if "mode" in unsigned:
        cmps["mode"] = {
            "p": "select",
            "name": "Mode",
            "options": list(MODES),
            "state_topic": topics.mode,
            "command_topic": topics.command("mode"),
            # the device answers on cmd/mode/result; HA ignores it, the id only has to be unique
            "command_template": (
                '{"request_id": "ha-{{ now().timestamp() }}", "mode": "{{ value }}"}'
            ),
        }
    else:
        cmps["mode"] = {
            "p": "sensor",
            "name": "Mode",
            "device_class": "enum",
            "options": list(MODES),
            "state_topic": topics.mode,
        }
    if "snapshot" in unsigned:
        cmps["take_snapshot"] = {
            "p": "button",
            "name": "Take snapshot",
            "command_topic": topics.command("snapshot"),
            "command_template": '{"request_id": "ha-{{ now().timestamp() }}"}',
        }
    for key, (name, unit, device_class) in DIAGNOSTICS.items():
        sensor: dict[str, Any] = {
            "p": "sensor",
            "name": name,
            "entity_category": "diagnostic",
            "state_topic": topics.telemetry,
            "value_template": f"{{{{ value_json.{key} }}}}",
        }
        if unit:
            sensor["unit_of_measurement"] = unit
            sensor["state_class"] = "measurement"
        if device_class:
            sensor["device_class"] = device_class
        cmps[key] = sensor
    for key, cmp in cmps.items():
        cmp["unique_id"] = f"{uid}_{key}"
        # the full entity id Home Assistant gives it first (object_id is retired in 2026.4)
        cmp["default_entity_id"] = f"{cmp['p']}.{_slug(uid)}_{key}"
    return {
        "dev": {
            "ids": [uid],
            "name": f"Doorbell {device_id}",
            "mf": "doorbell project",
            "mdl": "doorbell",
            "sw": version,
        },
        "o": {"name": "doorbell", "sw": version},
        "availability_topic": topics.status,
        "payload_available": "online",
        "payload_not_available": "offline",
        "qos": 1,
        "cmps": cmps,
    }


def discovery_message(
    prefix: str, device_id: str, topics: Topics, unsigned: Collection[str] = ()
) -> tuple[str, bytes]:
    payload = json.dumps(discovery_payload(device_id, topics, unsigned)).encode()
    return discovery_topic(prefix, device_id), payload
