"""What a running device takes from a reloaded config (SIGHUP) at once, and what waits for a
restart.

At once: `modes` and `motion` (read for every event and frame), and of `runtime` the two settings
read when they are used (`stall_seconds` by the watchdog, `shutdown_seconds` at shutdown). The
rest of `runtime` (log level and format, the watchdog switch, queue sizes) is read once at start,
and a new camera, broker, storage or privacy setting needs the device restarted too: the reload
names each of those it saw change, so the log says what did not apply.
"""

from __future__ import annotations

from doorbell.config.schema import DoorbellConfig

LIVE_SECTIONS = ("modes", "motion", "runtime")
RESTART_SECTIONS = (
    "device",
    "camera",
    "classify",
    "mqtt",
    "uplink",
    "record",
    "storage",
    "privacy",
    "requests",
    "audit",
    "button",
    "web",
)
# Of the live `runtime` section, what is nevertheless read only once, at start.
RUNTIME_AT_START = ("log_level", "log_format", "watchdog", "analysis_queue", "record_queue")


def merge_reload(running: DoorbellConfig, new: DoorbellConfig) -> tuple[DoorbellConfig, list[str]]:
    """The config to run on now, and what changed but waits for a restart (sections, and
    `runtime.<field>` for the runtime settings read at start)."""
    restart_needed = [s for s in RESTART_SECTIONS if getattr(new, s) != getattr(running, s)]
    at_start = {f: getattr(running.runtime, f) for f in RUNTIME_AT_START}
    restart_needed += [
        f"runtime.{f}" for f in RUNTIME_AT_START if getattr(new.runtime, f) != at_start[f]
    ]
    merged = running.model_copy(update={s: getattr(new, s) for s in LIVE_SECTIONS})
    merged.runtime = new.runtime.model_copy(update=at_start)
    return merged, restart_needed
