"""Home Assistant's MQTT discovery, as documented (home-assistant.io/integrations/mqtt and the
`<platform>.mqtt` pages, 2025.10+), for the platforms the device announces.

Written from the documentation, not from Home Assistant's code (which needs Python 3.14). Every
model forbids keys the documentation does not list, so a misspelt or retired option (`object_id`,
deprecated in 2025.10 for `default_entity_id`) fails the test. A key may be written in full or
abbreviated, as discovery allows.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator


def key(name: str, short: str | None = None, **field: Any) -> Any:
    """A documented option; `short` is its documented abbreviation."""
    names = (name, short) if short else (name,)
    return Field(validation_alias=AliasChoices(*names), **field)


Topic = Annotated[str, Field(min_length=1, pattern=r"^[^#+]+$")]
Template = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Device(Strict):
    configuration_url: str | None = key("configuration_url", "cu", default=None)
    connections: list[list[str]] | None = key("connections", "cns", default=None)
    hw_version: str | None = key("hw_version", "hw", default=None)
    identifiers: list[str] | str | None = key("identifiers", "ids", default=None)
    manufacturer: str | None = key("manufacturer", "mf", default=None)
    model: str | None = key("model", "mdl", default=None)
    model_id: str | None = key("model_id", "mdl_id", default=None)
    name: str | None = key("name", default=None)
    serial_number: str | None = key("serial_number", "sn", default=None)
    suggested_area: str | None = key("suggested_area", "sa", default=None)
    sw_version: str | None = key("sw_version", "sw", default=None)
    via_device: str | None = key("via_device", default=None)

    @model_validator(mode="after")
    def _identified(self) -> Device:
        if not self.identifiers and not self.connections:
            raise ValueError("a device needs identifiers or connections")
        return self


class Origin(Strict):
    name: str = key("name")
    sw_version: str | None = key("sw_version", "sw", default=None)
    support_url: str | None = key("support_url", "url", default=None)


class Availability(Strict):
    topic: Topic = key("topic", "t")
    payload_available: str | None = key("payload_available", "pl_avail", default=None)
    payload_not_available: str | None = key("payload_not_available", "pl_not_avail", default=None)
    value_template: Template | None = key("value_template", "val_tpl", default=None)


class Shared(Strict):
    """Options every entity platform documents; in a device message they may also be given once
    at the top level and are then shared by every component."""

    availability: list[Availability] | None = key("availability", "avty", default=None)
    availability_mode: Literal["all", "any", "latest"] | None = key(
        "availability_mode", "avty_mode", default=None
    )
    availability_template: Template | None = key("availability_template", "avty_tpl", default=None)
    availability_topic: Topic | None = key("availability_topic", "avty_t", default=None)
    payload_available: str | None = key("payload_available", "pl_avail", default=None)
    payload_not_available: str | None = key("payload_not_available", "pl_not_avail", default=None)
    encoding: str | None = key("encoding", "e", default=None)
    qos: Literal[0, 1, 2] | None = key("qos", default=None)
    state_topic: Topic | None = key("state_topic", "stat_t", default=None)
    command_topic: Topic | None = key("command_topic", "cmd_t", default=None)


class Entity(Shared):
    platform: str = key("platform", "p")
    name: str | None = key("name", default=None)
    unique_id: str | None = key("unique_id", "uniq_id", default=None)
    default_entity_id: str | None = key("default_entity_id", "def_ent_id", default=None)
    enabled_by_default: bool | None = key("enabled_by_default", "en", default=None)
    entity_category: Literal["config", "diagnostic"] | None = key(
        "entity_category", "ent_cat", default=None
    )
    entity_picture: str | None = key("entity_picture", "ent_pic", default=None)
    icon: str | None = key("icon", "ic", default=None)
    json_attributes_template: Template | None = key(
        "json_attributes_template", "json_attr_tpl", default=None
    )
    json_attributes_topic: Topic | None = key("json_attributes_topic", "json_attr_t", default=None)

    @model_validator(mode="after")
    def _entity_id_in_its_domain(self) -> Entity:
        # "default_entity_id": "<platform>.<object id>", the full entity id
        entity_id = self.default_entity_id
        if entity_id is not None and not re.fullmatch(rf"{self.platform}\.[a-z0-9_]+", entity_id):
            raise ValueError(f"default_entity_id {entity_id!r} is not '{self.platform}.<id>'")
        return self


class BinarySensor(Entity):
    platform: Literal["binary_sensor"] = key("platform", "p")
    device_class: str | None = key("device_class", "dev_cla", default=None)
    expire_after: int | None = key("expire_after", "exp_aft", default=None)
    force_update: bool | None = key("force_update", "frc_upd", default=None)
    off_delay: int | None = key("off_delay", "off_dly", default=None)
    payload_off: str | None = key("payload_off", "pl_off", default=None)
    payload_on: str | None = key("payload_on", "pl_on", default=None)
    value_template: Template | None = key("value_template", "val_tpl", default=None)


class Event(Entity):
    platform: Literal["event"] = key("platform", "p")
    device_class: Literal["button", "doorbell", "motion"] | None = key(
        "device_class", "dev_cla", default=None
    )
    event_types: list[str] = key("event_types", "evt_typ", min_length=1)
    value_template: Template | None = key("value_template", "val_tpl", default=None)

    @model_validator(mode="after")
    def _doorbell_rings(self) -> Event:
        # Home Assistant 2025.x warns, and 2027.4 refuses, a doorbell event without `ring`
        if self.device_class == "doorbell" and "ring" not in self.event_types:
            raise ValueError("a doorbell event entity must offer the 'ring' event type")
        return self


class Image(Entity):
    platform: Literal["image"] = key("platform", "p")
    content_type: str | None = key("content_type", "cont_type", default=None)
    image_encoding: Literal["b64"] | None = key("image_encoding", "img_e", default=None)
    image_topic: Topic | None = key("image_topic", "img_t", default=None)
    url_template: Template | None = key("url_template", "url_tpl", default=None)
    url_topic: Topic | None = key("url_topic", "url_t", default=None)

    @model_validator(mode="after")
    def _one_source(self) -> Image:
        if (self.image_topic is None) == (self.url_topic is None):
            raise ValueError("an image needs exactly one of image_topic and url_topic")
        return self


class Select(Entity):
    platform: Literal["select"] = key("platform", "p")
    command_template: Template | None = key("command_template", "cmd_tpl", default=None)
    optimistic: bool | None = key("optimistic", "opt", default=None)
    options: list[str] = key("options", "ops", min_length=1)
    retain: bool | None = key("retain", "ret", default=None)
    value_template: Template | None = key("value_template", "val_tpl", default=None)


class Sensor(Entity):
    platform: Literal["sensor"] = key("platform", "p")
    device_class: str | None = key("device_class", "dev_cla", default=None)
    expire_after: int | None = key("expire_after", "exp_aft", default=None)
    force_update: bool | None = key("force_update", "frc_upd", default=None)
    last_reset_value_template: Template | None = key(
        "last_reset_value_template", "lrst_val_tpl", default=None
    )
    options: list[str] | None = key("options", "ops", default=None)
    state_class: Literal["measurement", "measurement_angle", "total", "total_increasing"] | None = (
        key("state_class", "stat_cla", default=None)
    )
    suggested_display_precision: int | None = key(
        "suggested_display_precision", "sug_dsp_prc", default=None
    )
    unit_of_measurement: str | None = key("unit_of_measurement", "unit_of_meas", default=None)
    value_template: Template | None = key("value_template", "val_tpl", default=None)


class Button(Entity):
    platform: Literal["button"] = key("platform", "p")
    command_template: Template | None = key("command_template", "cmd_tpl", default=None)
    device_class: Literal["identify", "restart", "update"] | None = key(
        "device_class", "dev_cla", default=None
    )
    payload_press: str | None = key("payload_press", "pl_prs", default=None)
    retain: bool | None = key("retain", "ret", default=None)


PLATFORMS: dict[str, type[Entity]] = {
    "binary_sensor": BinarySensor,
    "event": Event,
    "image": Image,
    "select": Select,
    "sensor": Sensor,
    "button": Button,
}
# platforms whose state arrives on a topic they cannot do without
NEEDS_STATE_TOPIC = ("binary_sensor", "event", "sensor")
NEEDS_COMMAND_TOPIC = ("select", "button")


class DeviceDiscovery(Shared):
    """`<prefix>/device/<node_id>/config`: one message for a device and all its components."""

    device: Device = key("device", "dev")
    origin: Origin = key("origin", "o")
    components: dict[str, dict[str, Any]] = key("components", "cmps", min_length=1)

    @field_validator("components")
    @classmethod
    def _known_platforms(cls, components: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name, component in components.items():
            platform = component.get("p", component.get("platform"))
            if platform not in PLATFORMS:
                raise ValueError(f"component {name!r}: platform {platform!r} is not one we know")
        return components


def validate_device_discovery(payload: dict[str, Any]) -> dict[str, Entity]:
    """Validate the message and each component (with the shared options it inherits); raises
    pydantic's ValidationError or ValueError naming the component."""
    message = DeviceDiscovery.model_validate(payload)
    shared = message.model_dump(exclude_none=True, exclude={"device", "origin", "components"})
    out: dict[str, Entity] = {}
    for name, component in message.components.items():
        model = PLATFORMS[component.get("p", component.get("platform"))]
        entity = model.model_validate(component)
        platform = entity.platform
        state_topic = entity.state_topic or shared.get("state_topic")
        command_topic = entity.command_topic or shared.get("command_topic")
        if platform in NEEDS_STATE_TOPIC and not state_topic:
            raise ValueError(f"component {name!r}: {platform} needs a state_topic")
        if platform in NEEDS_COMMAND_TOPIC and not command_topic:
            raise ValueError(f"component {name!r}: {platform} needs a command_topic")
        out[name] = entity
    return out
