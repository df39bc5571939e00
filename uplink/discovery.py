"""Home Assistant MQTT discovery: one device-based message describing every entity."""

from __future__ import annotations

from typing import Any

from device.version import VERSION
from uplink.topics import Topics

# (telemetry key, name, unit, device_class)
DIAGNOSTICS: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("fps", "Frame rate", "fps", None),
    ("uptime_s", "Uptime", "s", "duration"),
    ("outbox_backlog", "Outbox backlog", None, None),
    ("outbox_dropped", "Outbox dropped", None, None),
    ("dropped_camera", "Dropped camera frames", None, None),
    ("disk_used_pct", "Disk used", "%", None),
    ("cpu_temp_c", "CPU temperature", "°C", "temperature"),
)


def discovery_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/device/{device_id}/config"


def discovery_config(device_id: str, topics: Topics, modes: tuple[str, ...]) -> dict[str, Any]:
    """The payload for `<prefix>/device/<device_id>/config`."""
    uid = f"doorbell_{device_id}"
    components: dict[str, dict[str, Any]] = {
        "motion": {
            "platform": "binary_sensor",
            "name": "Motion",
            "device_class": "motion",
            "state_topic": topics.motion,
            "payload_on": "ON",
            "payload_off": "OFF",
            "unique_id": f"{uid}_motion",
        },
        "doorbell": {
            "platform": "event",
            "name": "Doorbell",
            "device_class": "doorbell",
            "event_types": ["ring"],
            "state_topic": topics.ring,
            # the ring payload is our event message; HA wants {"event_type": ...}
            "value_template": '{{ {"event_type": "ring", "id": value_json.id} | tojson }}',
            "unique_id": f"{uid}_doorbell",
        },
        "snapshot": {
            "platform": "image",
            "name": "Snapshot",
            "image_topic": topics.snapshot,
            "content_type": "image/jpeg",
            "unique_id": f"{uid}_snapshot",
        },
        "mode": {
            "platform": "select",
            "name": "Mode",
            "options": list(modes),
            "state_topic": topics.mode,
            "command_topic": topics.command("mode"),
            "command_template": '{"request_id": "homeassistant", "mode": "{{ value }}"}',
            "unique_id": f"{uid}_mode",
        },
    }
    for key, name, unit, device_class in DIAGNOSTICS:
        sensor: dict[str, Any] = {
            "platform": "sensor",
            "name": name,
            "state_topic": topics.telemetry,
            "value_template": f"{{{{ value_json.{key} }}}}",
            "entity_category": "diagnostic",
            "unique_id": f"{uid}_{key}",
        }
        if unit:
            sensor["unit_of_measurement"] = unit
            sensor["state_class"] = "measurement"
        if device_class:
            sensor["device_class"] = device_class
        components[key] = sensor
    return {
        "dev": {
            "identifiers": [uid],
            "name": f"Doorbell {device_id}",
            "manufacturer": "doorbell",
            "model": "edge video doorbell",
            "sw_version": VERSION,
        },
        "o": {"name": "doorbell", "sw_version": VERSION},
        "availability_topic": topics.status,
        "payload_available": "online",
        "payload_not_available": "offline",
        "qos": 1,
        "cmps": components,
    }
