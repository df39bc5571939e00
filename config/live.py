"""What a running device takes from a reloaded config (SIGHUP) at once, and what waits for a
restart: motion, modes and runtime settings apply to the next frame; a new camera, broker,
storage or privacy setting needs the device restarted."""

from __future__ import annotations

from config.schema import DoorbellConfig

LIVE_SECTIONS = ("modes", "motion", "runtime")
RESTART_SECTIONS = (
    "device", "camera", "mqtt", "uplink", "record", "storage", "privacy", "requests", "button",
)  # fmt: skip


def merge_reload(running: DoorbellConfig, new: DoorbellConfig) -> tuple[DoorbellConfig, list[str]]:
    """The config to run on now, and the sections whose changes wait for a restart."""
    restart_needed = [s for s in RESTART_SECTIONS if getattr(new, s) != getattr(running, s)]
    merged = running.model_copy(update={s: getattr(new, s) for s in LIVE_SECTIONS})
    return merged, restart_needed
