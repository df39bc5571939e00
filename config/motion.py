"""`motion:` section: what counts as motion and when it becomes an event."""

from __future__ import annotations

from typing import Self

from pydantic import Field, field_validator, model_validator

from doorbell.config.base import NamedPolygon, Section


class MotionConfig(Section):
    threshold: int = Field(
        25,
        ge=1,
        le=255,
        description="lowest per-pixel change (intensity levels) that counts as motion; the "
        "threshold follows the estimated noise between this and threshold_max",
    )
    blur: int = Field(5, ge=1, le=31, description="odd Gaussian kernel size; higher = less noise")
    min_area: float = Field(
        0.5, gt=0.0, le=100.0, description="percent of a zone that must change to count"
    )
    min_frames: int = Field(3, ge=1, le=100, description="consecutive motion frames to fire")
    learning_rate: float = Field(
        0.05, gt=0.0, le=1.0, description="background adaptation per frame"
    )
    event_gap: float = Field(
        5.0, ge=0.1, le=600.0, description="seconds without motion ending an event"
    )
    max_event_seconds: float = Field(
        120.0, ge=1.0, le=3600.0, description="longer events are split"
    )
    absorb_seconds: float = Field(
        30.0, ge=1.0, le=3600.0, description="stationary objects absorbed after"
    )
    threshold_max: int = Field(
        60, ge=1, le=255, description="upper bound of the noise-adapted threshold"
    )
    noise_k: float = Field(
        4.0, ge=1.0, le=20.0, description="threshold = noise_k x estimated noise, within bounds"
    )
    min_blob: float = Field(
        0.1, ge=0.0, le=50.0, description="smallest region counted, percent of the frame"
    )
    min_sharpness: float = Field(
        13.0, ge=0.0, le=100.0, description="regions with a softer outline are ignored (0: off)"
    )
    settle_seconds: float = Field(
        0.7, ge=0.0, le=5.0, description="after a change of light, seconds to relearn (no motion)"
    )
    lighting_block: int = Field(
        16, ge=4, le=128, description="block size (lores px) for telling light from scene"
    )
    lighting_residual: float = Field(
        3.0, ge=0.5, le=64.0, description="unexplained change (levels) a lit block may keep"
    )
    zones: list[NamedPolygon] = Field(
        default_factory=list, description="where motion may trigger; empty = the whole frame"
    )

    @field_validator("blur")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v % 2 == 0:
            raise ValueError("must be odd (a Gaussian kernel size)")
        return v

    @model_validator(mode="after")
    def _threshold_range(self) -> Self:
        if self.threshold_max < self.threshold:
            raise ValueError(
                f"threshold_max ({self.threshold_max}) must be >= threshold ({self.threshold}):"
                " the threshold adapts between the two"
            )
        return self
