"""What every route of the page reaches: the device's `PageView` (what the page may see of the
running device), the page's config, the password, sessions, the login limit, the live picture,
the event feed, and the way changes are made (`change`: through the command registry, audited)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from doorbell.config import DoorbellConfig
from doorbell.config.device import Mode
from doorbell.config.web import WebConfig
from doorbell.device.recording.encoded_stream import EncodedStream
from doorbell.device.runtime.clock import Clock
from doorbell.device.runtime.command_registry import CHANGES_STATE
from doorbell.device.runtime.counters import Counters
from doorbell.device.runtime.frame import Frame
from doorbell.device.storage.index import EventIndex
from doorbell.device.web.auth import LoginLimiter, PasswordFile, Sessions
from doorbell.device.web.event_feed import EventFeed
from doorbell.device.web.live import LivePicture
from doorbell.device.web.live_video import LiveVideo
from doorbell.uplink.command_models import (
    LOCAL_COMMANDS,
    CommandError,
    CommandReply,
    Dispatch,
    validate_command,
)
from doorbell.uplink.requests import FootageRequests
from doorbell.uplink.requests.audit import AuditLog

BY = "owner-web"


@dataclass(frozen=True)
class PageView:
    """What the page may read of the running device, and its one way to change it (`dispatch`,
    the command registry every other control goes through). Built by the device
    (`Device.page_view`); the page never holds the device itself."""

    config: Callable[[], DoorbellConfig]  # the config in effect (a reload or a change replaces it)
    mode: Callable[[], Mode]
    counters: Callable[[], Counters]
    broker_connected: Callable[[], bool]
    origin: Callable[[str], str]  # where a setting's value came from
    last_frame: Callable[[], Frame | None]
    snapshot_jpeg: Callable[[np.ndarray], bytes]  # an I420 picture, masked, as JPEG
    live_stream: Callable[[], EncodedStream | None]  # the recorder's encoded fragments
    index: EventIndex  # events and clips (read; changes go through `dispatch`)
    requests: FootageRequests  # the review queue (read; decisions go through `dispatch`)
    audit: AuditLog
    dispatch: Dispatch
    data_dir: Path
    clock: Clock


class PageContext:
    def __init__(self, device: PageView, config: WebConfig) -> None:
        self.device, self.config = device, config
        files = device.config().device.data
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
        self.live = LivePicture(device.last_frame, device.snapshot_jpeg, config.live_fps, monotonic)
        self.video = LiveVideo(device.live_stream)
        self.feed = EventFeed(device.index)
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
            answer = await loop.run_in_executor(None, self.device.dispatch, name, body, BY)
            reply = answer or CommandReply.success(pending=True)  # the uploads worker answers
        if not (reply.ok and name in CHANGES_STATE):  # those the registry audits itself
            entry = {"by": BY, **fields, "ok": reply.ok, "error": reply.error}
            await loop.run_in_executor(None, self.audit.append, f"web_{name}", entry)
        return reply, refused
