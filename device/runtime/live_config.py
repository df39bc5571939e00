"""The config a running device is on, and the changes it takes without a restart, each applied at
once with what must follow it: motion settings (the `motion` command, zones drawn on the page, a
reload: a new detector, the settings published again), privacy masks (drawn on the page: every
clip and snapshot from now), and the config file read again (SIGHUP: the live sections, as
`config.live.merge_reload` says; the rest named in the log for a restart)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from doorbell.config import DoorbellConfig
from doorbell.config.base import NamedPolygon
from doorbell.config.live import merge_reload
from doorbell.config.motion import MotionConfig
from doorbell.motion.detector import MotionDetector
from doorbell.uplink.command_models import CommandReply, MotionCommand

if TYPE_CHECKING:
    from doorbell.device.recording.masks import PrivacyMask
    from doorbell.device.runtime.pipeline import Pipeline
    from doorbell.device.sources.base import Source
    from doorbell.uplink.uplink import Uplink

log = logging.getLogger(__name__)


class LiveConfig:
    def __init__(
        self,
        config: DoorbellConfig,
        reload: Callable[[], DoorbellConfig] | None,
        pipeline: Pipeline,
        source: Source,
        mask: PrivacyMask,
        uplink: Uplink,
        on_reload: Callable[[], None],
    ) -> None:
        """`reload`: the config file read again (None: there is none); `on_reload`: what the
        device does after a reload (the recorder told the mode's rules again)."""
        self.config = config
        self._reload, self._on_reload = reload, on_reload
        self.pipeline, self.source, self.mask, self.uplink = pipeline, source, mask, uplink

    def update_motion(self, changes: dict[str, Any]) -> CommandReply:
        try:
            motion = MotionConfig.model_validate(self.config.motion.model_dump() | changes)
        except ValueError as exc:
            return CommandReply.failure(str(exc).splitlines()[0])
        self.apply_motion(motion)
        return CommandReply.success()

    def publish_motion_settings(self) -> None:
        names = [n for n in MotionCommand.model_fields if n != "request_id"]
        self.uplink.publish_motion_settings({n: getattr(self.config.motion, n) for n in names})

    def apply_motion(self, motion: MotionConfig) -> None:
        """New motion settings, at once (a command, a reload, zones drawn on the page)."""
        self.config = self.config.model_copy(update={"motion": motion})
        self.pipeline.replace_detector(MotionDetector(motion, self.source.lores_size), motion)
        self.publish_motion_settings()

    def apply_zones(self, zones: list[NamedPolygon]) -> None:
        """New motion zones, at once (drawn on the page)."""
        self.apply_motion(self.config.motion.model_copy(update={"zones": zones}))

    def apply_masks(self, masks: list[NamedPolygon]) -> None:
        """New privacy masks, at once (drawn on the page): every clip and snapshot from now."""
        self.config.privacy = self.config.privacy.model_copy(update={"masks": masks})
        self.mask.replace(masks)

    def reload(self) -> None:
        if self._reload is None:
            return
        try:
            new = self._reload()
        except Exception as exc:  # a bad file must not take the device down
            log.error("config reload failed, keeping the running config: %s", exc)
            return
        if new.motion != self.config.motion:
            self.apply_motion(new.motion)
        self.config, restart_needed = merge_reload(self.config, new)
        self._on_reload()
        log.info(
            "config reloaded%s",
            f"; restart to apply: {', '.join(restart_needed)}" if restart_needed else "",
        )
