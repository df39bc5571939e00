"""The command registry: every command's name -> (pydantic model, handler), and the one
`dispatch` that MQTT (the uplink's command worker) and the control socket both call.

Names and models are defined once, in `uplink.command_models.LOCAL_COMMANDS`; the device supplies a
handler per model. A command without a handler, or a handler without a command, fails at
construction, so the two cannot drift apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from doorbell.uplink.command_models import (
    LOCAL_COMMANDS,
    CommandError,
    CommandReply,
    answer,
    parse_local,
)
from doorbell.uplink.requests.audit import AuditLog

log = logging.getLogger(__name__)

# Takes an instance of its command's model; None: the answer is published later (on MQTT).
Handler = Callable[[Any], CommandReply | None]


# Commands whose acceptance is written to the audit log (the owner can see who changed what).
CHANGES_STATE = frozenset({"mode", "motion"})


class CommandRegistry:
    def __init__(
        self, handlers: Mapping[type[BaseModel], Handler], audit: AuditLog | None = None
    ) -> None:
        self.audit = audit
        models = set(LOCAL_COMMANDS.values())
        if set(handlers) != models:
            missing = sorted(m.__name__ for m in models - set(handlers))
            extra = sorted(m.__name__ for m in set(handlers) - models)
            raise ValueError(f"command handlers do not match the commands: {missing=} {extra=}")
        self.commands: dict[str, tuple[type[BaseModel], Handler]] = {
            name: (model, handlers[model]) for name, model in LOCAL_COMMANDS.items()
        }

    def dispatch(self, name: str, body: BaseModel, by: str = "local") -> CommandReply | None:
        """Carry out one validated command for `by`; the reply says what happened. A change of
        state (mode, motion settings) is audited with who asked for it."""
        entry = self.commands.get(name)
        if entry is None:
            return CommandReply.failure(f"unknown command {name[:64]!r}")
        model, handler = entry
        if not isinstance(body, model):
            return CommandReply.failure(f"{name}: expected a {model.__name__}")
        try:
            reply = handler(body)
        except Exception as exc:  # one failing command must not end command handling
            log.exception("command %r raised", name)
            return CommandReply.failure(f"failed: {exc}".splitlines()[0][:200])
        if reply is not None and reply.ok and name in CHANGES_STATE and self.audit is not None:
            fields = body.model_dump(mode="json", exclude={"request_id"})
            self.audit.append("command", {"command": name, "by": by, "fields": fields})
        return reply

    def control_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """One control-socket request, `{"cmd": <name>, ...fields}`, answered as a JSON object
        (without the request_id the socket's clients do not send)."""
        try:
            command = parse_local(request)
        except CommandError as exc:
            reply = CommandReply.failure(str(exc), exc.request_id)
        else:
            # an answer given later goes out on MQTT; the socket hears that it was accepted
            reply = answer(self.dispatch, command) or CommandReply.success()
        exclude = None if "request_id" in request else {"request_id"}
        return reply.model_dump(mode="json", exclude=exclude)
