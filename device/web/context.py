"""What every route of the page reaches: the device, its config, the password, sessions, the
login limit, the live picture, the event feed, and the way changes are made (`change`: through
the command registry, audited)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from doorbell.config import DoorbellConfig
from doorbell.config.device import Mode
from doorbell.config.web import WebConfig
from doorbell.device.recording.recorder import Recorder
from doorbell.device.runtime.clock import Clock
from doorbell.device.runtime.command_registry import CHANGES_STATE, CommandRegistry
from doorbell.device.runtime.counters import Counters
from doorbell.device.runtime.footage_requests import FootageService
from doorbell.device.runtime.owner_actions import OwnerActions
from doorbell.device.runtime.reactions import Reactions
from doorbell.device.web.auth import LoginLimiter, PasswordFile, Sessions
from doorbell.device.web.event_feed import EventFeed
from doorbell.device.web.live import LivePicture
from doorbell.device.web.live_video import LiveVideo
from doorbell.uplink.command_models import (
    LOCAL_COMMANDS,
    CommandError,
    CommandReply,
    validate_command,
)
from doorbell.uplink.requests.audit import AuditLog
from doorbell.uplink.uplink import Uplink

BY = "owner-web"


class PageDevice(Protocol):
    """What the page reads of the running device (device.runtime.Device)."""

    config: DoorbellConfig
    mode: Mode
    data_dir: Path
    clock: Clock
    commands: CommandRegistry
    audit: AuditLog
    reactions: Reactions
    recorder: Recorder
    uplink: Uplink
    footage: FootageService
    owner: OwnerActions

    def counters(self) -> Counters: ...


class PageContext:
    def __init__(self, device: PageDevice, config: WebConfig) -> None:
        self.device, self.config = device, config
        files = device.config.device.data
        self.files = files
        monotonic = device.clock.monotonic
        self.passwords = PasswordFile(files.web_password)
        self.sessions = Sessions(config.session_hours * 3600.0, monotonic)
        self.limiter = LoginLimiter(
            config.login_attempts,
            config.login_window_seconds,
            monotonic,
            total=config.login_attempts_total,
        )
        self.checking = asyncio.Semaphore(1)  # Argon2 checks at once (19 MiB each)
        self.live = LivePicture(
            lambda: device.reactions.last_frame,
            lambda image: device.recorder.snapshot(image).jpeg,
            config.live_fps,
            monotonic,
        )
        self.video = LiveVideo(lambda: device.recorder.cutter.stream)
        self.feed = EventFeed(device.recorder.index)
        # Owner changes join the request log: one tamper-evident record of what the owner did
        # (the device's own log: its size bound, and its head published off the device).
        self.audit = device.audit

    async def change(self, name: str, fields: dict[str, Any]) -> tuple[CommandReply, bool]:
        """One change through the device's command registry, audited whatever its outcome.
        The reply, and whether the input itself was refused (not a valid command)."""
        loop = asyncio.get_running_loop()
        data = {"request_id": f"web-{uuid.uuid4().hex[:12]}", **fields}
        refused = False
        try:
            body: BaseModel = validate_command(name, data, LOCAL_COMMANDS).body
        except CommandError as exc:
            reply, refused = CommandReply.failure(str(exc)), True
        else:
            dispatch = self.device.commands.dispatch
            answer = await loop.run_in_executor(None, dispatch, name, body, BY)
            reply = answer or CommandReply.success(pending=True)  # the uploads worker answers
        if not (reply.ok and name in CHANGES_STATE):  # those the registry audits itself
            entry = {"by": BY, **fields, "ok": reply.ok, "error": reply.error}
            await loop.run_in_executor(None, self.audit.append, f"web_{name}", entry)
        return reply, refused
