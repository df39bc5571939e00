"""`web:` section: the device's own local page (device/web), off unless `listen` is set."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import ConfigDict, Field, field_validator

from doorbell.config.base import Section

PI_MODEL = Path("/proc/device-tree/model")


def _default_listen() -> str | None:
    # Off on a Pi until the owner turns it on; a development machine gets a loopback page.
    try:
        on_pi = "Raspberry Pi" in PI_MODEL.read_text(errors="replace")
    except OSError:
        on_pi = False
    return None if on_pi else "127.0.0.1:8080"


def split_listen(listen: str) -> tuple[str, int]:
    """`HOST:PORT` or `[IPv6]:PORT` as (host, port); port 0: any free one (tests)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"{listen!r} is not HOST:PORT (a port 0-65535)")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebConfig(Section):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)

    listen: str | None = Field(
        default_factory=_default_listen,
        description="HOST:PORT of the local page; null = no page. Anything but loopback needs a "
        "password first (doorbell web set-password)",
    )
    live_fps: float = Field(2.0, gt=0.0, le=15.0, description="live picture refreshes a second")
    session_hours: float = Field(12.0, gt=0.0, le=24.0 * 30, description="a login lasts this")
    login_attempts: int = Field(
        5, ge=1, le=100, description="login attempts per address within login_window_seconds"
    )
    login_attempts_total: int = Field(
        20, ge=1, le=10000, description="login attempts from all addresses within the window"
    )
    login_window_seconds: float = Field(
        300.0, ge=1.0, le=86400.0, description="the window login_attempts counts in"
    )

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            split_listen(value)
        return value
