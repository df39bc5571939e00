"""`record:` and `storage:` sections: clips, snapshots and how long they are kept."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from doorbell.config.base import Section


class RecordConfig(Section):
    mode: Literal["events", "continuous", "off"] = "events"
    pre_seconds: float = Field(3.0, ge=0.0, le=30.0)
    post_seconds: float = Field(5.0, ge=0.0, le=120.0)
    max_seconds: float = Field(120.0, ge=5.0, le=3600.0)
    keyframe_seconds: float = Field(1.0, ge=0.2, le=10.0)
    segment_minutes: float = Field(10.0, ge=1.0, le=120.0, description="continuous mode only")
    encoder: Literal["auto", "libx264"] = Field(
        "auto",
        description="auto: picamera2's H264Encoder on a Pi camera; an H.264 file or RTSP camera's "
        "own packets when no privacy mask is set; else libx264",
    )
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = "ultrafast"
    bitrate: int = Field(1_500_000, ge=100_000, le=20_000_000, description="bits per second")
    encoder_threads: int = Field(
        1, ge=1, le=4, description="libx264 threads: more only if one core cannot keep up"
    )
    snapshot_quality: int = Field(85, ge=10, le=100)
    thumbnail_width: int = Field(160, ge=32, le=640)

    def keyframe_frames(self, fps: float) -> int:
        """Frames from one keyframe to the next at `fps`: the length of a fragment."""
        return max(1, round(self.keyframe_seconds * fps))

    @property
    def ring_seconds(self) -> float:
        """Encoded video kept for pre-roll: one keyframe interval more than `pre_seconds`, so the
        keyframe at or before an event's start minus `pre_seconds` is still there."""
        return self.pre_seconds + self.keyframe_seconds


class StorageConfig(Section):
    max_age_days: float = Field(30.0, gt=0.0, le=3650.0)
    max_bytes: int = Field(4 * 1024**3, ge=1024**2)
    min_free_bytes: int = Field(
        512 * 1024**2, ge=0, description="free space kept on the disk, at most (the cap)"
    )
    min_free_share: float = Field(
        0.1, ge=0.0, le=0.5, description="free space kept, as a share of the disk's size"
    )

    def min_free(self, disk_bytes: int) -> int:
        """Free space retention keeps on a disk of `disk_bytes`: a share of it, capped, so the
        rule scales with a small card instead of asking for more than the card holds."""
        return int(min(self.min_free_bytes, self.min_free_share * disk_bytes))
