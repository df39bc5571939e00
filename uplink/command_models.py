"""Commands: every command's name and pydantic model (the one list of them), the one reply model,
and the parser that turns a raw MQTT payload or a control-socket request into a validated body or
a one-line reason why not.

MQTT (`Uplink`) and the control socket both hand a parsed command to the same `Dispatch`
callable, which the device provides (`device.runtime.command_registry.CommandRegistry`): this
package knows the commands' shapes, the device their effects. Bounds for `motion` come from
`config.motion.MotionConfig`, so a command can never set what the config file could not.
Footage requests register their own (signed, untouched) bodies through
`uplink.requests.command_models.COMMANDS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from doorbell.config.base import NamedPolygon
from doorbell.config.device import Mode
from doorbell.config.motion import MotionConfig
from doorbell.uplink.requests.command_models import COMMANDS as FOOTAGE_COMMANDS
from doorbell.uplink.requests.untrusted_body import first_error

MAX_COMMAND_BYTES = 16 * 1024


class Command(BaseModel):
    # Strict, like the config: `{"threshold": true}` is not 1, `"3"` is not 3.
    model_config = ConfigDict(extra="forbid", strict=True)

    request_id: str = Field(min_length=1, max_length=128)


class ModeCommand(Command):
    mode: Mode


class SnapshotCommand(Command):
    pass


class PingCommand(Command):
    """Proves commands get through to the device."""


class PressCommand(Command):
    """Ring the doorbell (control socket only)."""


class StatusCommand(Command):
    """The device's telemetry, now (control socket only)."""


class ClipKeepCommand(Command):
    """Protect a clip from retention, or let it go again (the local page; `doorbell clips`)."""

    clip_id: str = Field(min_length=1, max_length=128)
    keep: bool = True


class ClipDeleteCommand(Command):
    """Delete a clip with its events' pictures (the local page; `doorbell clips delete`)."""

    clip_id: str = Field(min_length=1, max_length=128)


class PolygonsCommand(Command):
    """Replace the privacy masks or the motion zones: saved to the config file, applied at once."""

    kind: Literal["privacy_masks", "motion_zones"]
    polygons: list[NamedPolygon] = Field(max_length=32)


class FootageReviewCommand(Command):
    """The owner's decision on a queued footage request, made on the local page (a signed one
    arrives as `footage_decision`)."""

    footage_request: str = Field(min_length=1, max_length=128)
    approve: bool
    clips: list[str] | None = Field(None, max_length=1000, description="None: every match")
    redact: Literal["faces", "none"] | None = Field(
        None, description="for this request only; None: requests.redact"
    )


def _bounded(name: str) -> Any:
    """Optional in the command, with the same bounds as the config field."""
    bounds: dict[str, Any] = {}
    for meta in MotionConfig.model_fields[name].metadata:
        for key in ("ge", "gt", "le", "lt"):
            value = getattr(meta, key, None)
            if value is not None:
                bounds[key] = value
    return Field(None, **bounds)


class MotionCommand(Command):
    """The whitelisted motion settings; anything else is refused (extra="forbid")."""

    threshold: int | None = _bounded("threshold")
    min_area: float | None = _bounded("min_area")
    min_frames: int | None = _bounded("min_frames")
    event_gap: float | None = _bounded("event_gap")

    @model_serializer(mode="wrap")
    def _only_what_was_sent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # the device merges the dump into its settings: a left-out field must not become None
        return {k: v for k, v in handler(self).items() if v is not None}


# What MQTT accepts on `<base>/cmd/<name>` (docs/mqtt.md)...
COMMANDS: dict[str, type[BaseModel]] = {
    "mode": ModeCommand,
    "snapshot": SnapshotCommand,
    "motion": MotionCommand,
    "ping": PingCommand,
    **FOOTAGE_COMMANDS,
}
# ...and what the local control socket accepts besides (`doorbell press`, `doorbell status`).
LOCAL_COMMANDS: dict[str, type[BaseModel]] = {
    **COMMANDS,
    "press": PressCommand,
    "status": StatusCommand,
    # the local page's actions (device/web), also open to the control socket
    "clip_keep": ClipKeepCommand,
    "clip_delete": ClipDeleteCommand,
    "polygons": PolygonsCommand,
    "footage_review": FootageReviewCommand,
}
# The control socket's requests carry no request_id of their own.
LOCAL_REQUEST_ID = "local"


class CommandReply(BaseModel):
    """Every command's answer: `{"request_id", "ok", "error"}` plus the command's own fields
    (`mode`, `event_id`, the telemetry of `status`, a footage request's decision...)."""

    model_config = ConfigDict(extra="allow")

    request_id: str | None = None
    ok: bool
    error: str | None = None

    @classmethod
    def success(cls, **fields: Any) -> CommandReply:
        return cls(ok=True, error=None, **fields)

    @classmethod
    def failure(cls, error: str, request_id: str | None = None) -> CommandReply:
        return cls(request_id=request_id, ok=False, error=error)

    def payload(self) -> bytes:
        """As published on `cmd/<name>/result` and written to the control socket."""
        return self.model_dump_json().encode()


# The device's side: run one validated command (body: an instance of its model) for whoever sent
# it (`by`: "local", "unsigned" or "owner-key:<id>"), answer it; None when the answer is
# published later (a footage request's upload).
Dispatch = Callable[[str, BaseModel, str], CommandReply | None]
# Between reading a command and validating it: who may send it; its fields without the proof
# (a signature), and who sent it. Raises CommandError.
Authorise = Callable[[str, dict[str, Any]], tuple[dict[str, Any], str]]


class CommandError(Exception):
    """A command refused before it reaches the device; `request_id` when one could be read."""

    def __init__(self, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    request_id: str | None
    body: BaseModel
    by: str = "local"  # who sent it: "local" (the control socket), "unsigned", "owner-key:<id>"


def _request_id(data: object) -> str | None:
    if isinstance(data, dict):
        value = data.get("request_id")
        if isinstance(value, str) and 0 < len(value) <= 128:
            return value
    return None


def parse_command(
    name: str,
    payload: bytes,
    max_bytes: int = MAX_COMMAND_BYTES,
    authorise: Authorise | None = None,
) -> ParsedCommand:
    """Validate one MQTT command, after `authorise` says who may send it; raises CommandError
    with a one-line reason."""
    if len(payload) > max_bytes:
        raise CommandError(f"command too large: {len(payload)} bytes > {max_bytes}")
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CommandError(f"body is not JSON: {str(exc).splitlines()[0][:120]}") from None
    if authorise is None or name not in COMMANDS or not isinstance(data, dict):
        return validate_command(name, data, COMMANDS)
    try:
        fields, by = authorise(name, data)
    except CommandError as exc:
        raise CommandError(str(exc), _request_id(data)) from None
    return validate_command(name, fields, COMMANDS, by)


def parse_local(request: dict[str, Any]) -> ParsedCommand:
    """Validate one control-socket request, `{"cmd": <name>, ...the command's fields}`: the
    `cmd` key names the command and is not one of its fields."""
    name = request.get("cmd")
    if not isinstance(name, str):
        raise CommandError("missing 'cmd'", _request_id(request))
    fields = {k: v for k, v in request.items() if k != "cmd"}
    fields.setdefault("request_id", LOCAL_REQUEST_ID)
    return validate_command(name, fields, LOCAL_COMMANDS)


def validate_command(
    name: str, data: object, commands: dict[str, type[BaseModel]], by: str = "local"
) -> ParsedCommand:
    request_id = _request_id(data)
    model = commands.get(name)
    if model is None:
        raise CommandError(f"unknown command {name[:64]!r}", request_id)
    if not isinstance(data, dict):
        raise CommandError("body must be a JSON object", request_id)
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        raise CommandError(first_error(exc), request_id) from None
    return ParsedCommand(name, request_id, body, by)


def answer(dispatch: Dispatch | None, command: ParsedCommand) -> CommandReply | None:
    """Run one validated command; the reply echoes the command's request_id."""
    if dispatch is None:
        return CommandReply.failure("this device takes no commands", command.request_id)
    reply = dispatch(command.name, command.body, command.by)
    if reply is None:
        return None
    return reply.model_copy(update={"request_id": command.request_id or reply.request_id})
