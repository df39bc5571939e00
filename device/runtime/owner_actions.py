"""What the owner's local commands do (`clip_keep`, `clip_delete`, `polygons`,
`footage_review`): the handlers the device registers for them. The local page sends them; the
control socket takes them too. Each does what the matching `doorbell` command does, on the
running device's own clip index, retention and request store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from doorbell.config.base import NamedPolygon
from doorbell.config.editing import save_polygons
from doorbell.config.loader import ConfigError, LoadedConfig
from doorbell.device.runtime.footage_requests import command_reply
from doorbell.device.storage.index import EventIndex
from doorbell.device.storage.retention import Retention
from doorbell.uplink.command_models import (
    ClipDeleteCommand,
    ClipKeepCommand,
    CommandReply,
    FootageReviewCommand,
    PolygonsCommand,
)
from doorbell.uplink.requests import FootageRequests, RequestReply

log = logging.getLogger(__name__)

BY = "owner-local"  # who decided, in the audit log


class OwnerActions:
    """The owner's changes, on exactly the parts they change: the clip index and retention (keep,
    delete), the request store (reviews), and the motion zones and privacy masks in effect (each
    applied by the device, which knows what else must follow: a new detector, a new raster)."""

    def __init__(
        self,
        index: EventIndex,
        retention: Retention,
        requests: FootageRequests,
        apply_zones: Callable[[list[NamedPolygon]], None],
        apply_masks: Callable[[list[NamedPolygon]], None],
        loaded: LoadedConfig | None,
    ) -> None:
        self.index, self.retention, self.requests = index, retention, requests
        self.apply_zones, self.apply_masks = apply_zones, apply_masks
        self.config_file: Path | None = loaded.file if loaded else None
        self._loaded = loaded

    def origin(self, dotted: str) -> str:
        """Where a setting's value came from (`default`, `file path:line`, `env NAME`, `flag`)."""
        if self._loaded is None:
            return "unknown"
        key = tuple(int(p) if p.isdigit() else p for p in dotted.split("."))
        origin = self._loaded.origin_of(key)
        return f"{origin.kind} {origin.where}".strip()

    def keep_clip(self, body: ClipKeepCommand) -> CommandReply:
        """As `doorbell clips keep [--undo]`."""
        if not self.index.set_keep(body.clip_id, body.keep):
            return CommandReply.failure(f"no clip {body.clip_id!r}")
        return CommandReply.success(clip_id=body.clip_id, keep=body.keep)

    def delete_clip(self, body: ClipDeleteCommand) -> CommandReply:
        """As `doorbell clips delete`: the file, its events' pictures, any copy waiting to go."""
        clip = self.index.get_clip(body.clip_id)
        if clip is None:
            return CommandReply.failure(f"no clip {body.clip_id!r}")
        self.retention.delete_clip(clip)
        return CommandReply.success(clip_id=body.clip_id)

    def set_polygons(self, body: PolygonsCommand) -> CommandReply:
        """Save the masks or zones to the config file (checked like any YAML), then apply them."""
        if self.config_file is None:
            return CommandReply.failure("no config file to save to: run with --config FILE")
        try:
            saved = save_polygons(self.config_file, body.kind, body.polygons)
        except ConfigError as exc:
            return CommandReply.failure(exc.lines[0])
        if body.kind == "motion_zones":
            self.apply_zones(saved.motion.zones)
        else:
            self.apply_masks(saved.privacy.masks)
        log.info("%s saved to %s: %d polygon(s)", body.kind, self.config_file, len(body.polygons))
        return CommandReply.success(kind=body.kind, polygons=len(body.polygons))

    def review_request(self, body: FootageReviewCommand) -> CommandReply | None:
        """As `doorbell requests approve|decline`; an approval's upload runs on the uploads
        thread."""
        requests = self.requests
        if requests.get(body.footage_request) is None:
            return CommandReply.failure(f"no request {body.footage_request!r}")
        reply: RequestReply | None
        if body.approve:
            reply = requests.approve_on_device(
                body.footage_request, body.clips, by=BY, redact=body.redact
            )
        else:
            reply = requests.decline(body.footage_request, by=BY)
        return command_reply(reply)
