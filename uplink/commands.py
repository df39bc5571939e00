"""Remote commands: one pydantic model per command, and the parser that turns a raw MQTT payload
into a validated body or a one-line reason why not.

Bounds for `motion` come from `config.motion.MotionConfig`, so a command can never set what the
config file could not. Footage requests register their own (signed, untouched) bodies through
`uplink.requests.commands.COMMANDS`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from config.device import Mode
from config.motion import MotionConfig
from uplink.requests.commands import COMMANDS as FOOTAGE_COMMANDS

MAX_COMMAND_BYTES = 16 * 1024


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=128)


class ModeCommand(Command):
    mode: Mode


class SnapshotCommand(Command):
    pass


class PingCommand(Command):
    pass


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


COMMANDS: dict[str, type[BaseModel]] = {
    "mode": ModeCommand,
    "snapshot": SnapshotCommand,
    "motion": MotionCommand,
    "ping": PingCommand,
    **FOOTAGE_COMMANDS,
}


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


def _request_id(data: object) -> str | None:
    if isinstance(data, dict):
        value = data.get("request_id")
        if isinstance(value, str) and 0 < len(value) <= 128:
            return value
    return None


def parse_command(name: str, payload: bytes, max_bytes: int = MAX_COMMAND_BYTES) -> ParsedCommand:
    """Validate one command; raises CommandError with a one-line reason."""
    if len(payload) > max_bytes:
        raise CommandError(f"command too large: {len(payload)} bytes > {max_bytes}")
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CommandError(f"body is not JSON: {str(exc).splitlines()[0][:120]}") from None
    request_id = _request_id(data)
    model = COMMANDS.get(name)
    if model is None:
        raise CommandError(f"unknown command {name[:64]!r}", request_id)
    if not isinstance(data, dict):
        raise CommandError("body must be a JSON object", request_id)
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise CommandError(f"{where}: {first['msg']}", request_id) from None
    return ParsedCommand(name, request_id, body)


def result_payload(
    request_id: str | None, ok: bool, error: str | None, extra: dict[str, Any] | None = None
) -> bytes:
    """`{"request_id", "ok", "error", ...}` as published on `cmd/<name>/result`."""
    out: dict[str, Any] = dict(extra or {})
    out.update(request_id=request_id, ok=ok, error=error)
    return json.dumps(out, default=str).encode()
