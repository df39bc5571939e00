"""`camera:` section: which source feeds the device and how it is shaped."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from doorbell.config.base import Section, Switch


class FaultsConfig(Section):
    """Fault injection for reliability tests; all off by default. Times are source time (s)."""

    drop_percent: float = Field(
        0.0, ge=0.0, le=100.0, description="share of frames lost at random (seeded), in percent"
    )
    stall_at: float | None = Field(
        None, ge=0.0, le=7 * 24 * 3600.0, description="source time (s) at which read() stalls"
    )
    stall_seconds: float = Field(
        0.0,
        ge=0.0,
        le=3600.0,
        description="how long the stall blocks (real time); that span's frames are lost",
    )
    disconnect_at: float | None = Field(
        None,
        ge=0.0,
        le=7 * 24 * 3600.0,
        description="source time (s) at which read() raises SourceDisconnected, once",
    )
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the random frame drops")


class CameraConfig(Section):
    source: str = Field(
        "synthetic",
        min_length=1,
        description="synthetic[:SCENARIO] | file:PATH | opencv:INDEX_OR_URL | picamera2",
    )
    width: int | None = Field(None, ge=64, le=4096, description="main stream width; None = native")
    height: int | None = Field(None, ge=48, le=3072)
    fps: float | None = Field(None, gt=0.0, le=120.0, description="None = the source's own rate")
    lores_width: int = Field(320, ge=32, le=1920)
    lores_height: int = Field(240, ge=24, le=1080)
    speed: Annotated[float, Field(gt=0.0, le=1000.0)] | Literal["max"] = Field(
        1.0, description="file/synthetic replay speed: a factor, or max"
    )
    loop: Switch = False
    exposure_us: int | None = Field(None, ge=10, le=1_000_000, description="picamera2 only")
    reopen_max_seconds: float = Field(30.0, ge=0.5, le=600.0)
    faults: FaultsConfig = FaultsConfig()
