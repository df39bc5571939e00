"""Remote commands on `<base>/cmd/<name>`: a registry of name -> body model, and a parser that
turns any bytes into either a validated command or a one-line error (never an exception)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from config.motion import MotionConfig

MAX_REQUEST_ID = 128


class CommandBody(BaseModel):
    """Every command body: an optional request id echoed in the result, nothing unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str | None = Field(None, max_length=MAX_REQUEST_ID)


class ModeCommand(CommandBody):
    mode: Literal["disarmed", "home", "away"]


class SnapshotCommand(CommandBody):
    pass


class PingCommand(CommandBody):
    pass


MOTION_SETTINGS = ("threshold", "min_area", "min_frames", "event_gap")


def _motion_field(name: str) -> Any:
    """The same type and bounds as `motion.<name>` in the config, but optional."""
    info = MotionConfig.model_fields[name]
    return (Annotated[info.annotation, *info.metadata] | None, None)


class MotionCommandBase(CommandBody):
    @model_validator(mode="after")
    def _something_to_change(self) -> MotionCommandBase:
        if not self.changes():
            raise ValueError(f"nothing to change (allowed: {', '.join(MOTION_SETTINGS)})")
        return self

    def changes(self) -> dict[str, Any]:
        """Only the settings the command names: merge these into the running motion config."""
        return {k: v for k, v in self.model_dump(exclude={"request_id"}).items() if v is not None}


MotionCommand: type[MotionCommandBase] = create_model(
    "MotionCommand",
    __base__=MotionCommandBase,
    **{name: _motion_field(name) for name in MOTION_SETTINGS},
)


@dataclass(frozen=True)
class CommandResult:
    """What a command did; published as `{"request_id", "ok", "error", **data}`."""

    ok: bool
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_reply(cls, reply: CommandResult | dict[str, Any] | None) -> CommandResult:
        if isinstance(reply, CommandResult):
            return reply
        if isinstance(reply, dict):
            rest = {k: v for k, v in reply.items() if k not in ("ok", "error", "request_id")}
            return cls(bool(reply.get("ok")), reply.get("error"), rest)
        return cls(False, "the command gave no result")

    def payload(self, request_id: str | None) -> bytes:
        body = {**self.data, "request_id": request_id, "ok": self.ok, "error": self.error}
        return json.dumps(body, default=str).encode()


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    request_id: str | None
    body: BaseModel | None  # None when the command was refused
    error: str | None


DEFAULT_COMMANDS: dict[str, type[BaseModel]] = {
    "mode": ModeCommand,
    "snapshot": SnapshotCommand,
    "motion": MotionCommand,
    "ping": PingCommand,
}


class CommandRegistry:
    """Command name -> body model. Others register theirs (e.g. footage requests, issue 7)."""

    def __init__(self, max_bytes: int, models: dict[str, type[BaseModel]] | None = None) -> None:
        self.max_bytes = max_bytes
        self.models = dict(DEFAULT_COMMANDS if models is None else models)

    def register(self, name: str, model: type[BaseModel]) -> None:
        if not name or any(c in name for c in "/#+\0"):
            raise ValueError(f"bad command name {name!r}")
        self.models[name] = model

    def parse(self, name: str, payload: bytes) -> ParsedCommand:
        """Validate one command; every failure becomes `error`, never an exception."""
        if len(payload) > self.max_bytes:
            too_big = f"body too large ({len(payload)} bytes, max {self.max_bytes})"
            return ParsedCommand(name, None, None, too_big)
        try:
            raw = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            return ParsedCommand(name, None, None, f"body is not JSON: {str(exc)[:120]}")
        request_id = raw.get("request_id") if isinstance(raw, dict) else None
        if not isinstance(request_id, str) or len(request_id) > MAX_REQUEST_ID:
            request_id = None
        model = self.models.get(name)
        if model is None:
            known = ", ".join(sorted(self.models))
            unknown = f"unknown command {name[:64]!r} (allowed: {known})"
            return ParsedCommand(name, request_id, None, unknown)
        if not isinstance(raw, dict):
            return ParsedCommand(name, request_id, None, "body must be a JSON object")
        try:
            body = model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            return ParsedCommand(name, request_id, None, f"{where}: {first['msg']}")
        except (ValueError, TypeError, RecursionError) as exc:
            return ParsedCommand(name, request_id, None, f"invalid body: {str(exc)[:120]}")
        return ParsedCommand(name, request_id, body, None)
