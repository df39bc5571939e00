"""Camera sources: `synthetic[:SCENARIO]`, `file:PATH`, `opencv:INDEX_OR_URL`, `picamera2`."""

from __future__ import annotations

from config.camera import CameraConfig
from device.sources.base import Source, SourceError, SourceStats

__all__ = ["Source", "SourceError", "SourceStats", "open_source"]


def open_source(camera: CameraConfig, start_wall: float | None = None) -> Source:
    """Build (not yet open) the source that `camera.source` names."""
    kind, _, arg = camera.source.partition(":")
    if kind == "synthetic":
        from device.sources.synthetic import SyntheticSource

        return SyntheticSource(arg or None, camera, start_wall)
    raise SourceError(
        f"unknown camera {camera.source!r} "
        "(allowed: synthetic[:SCENARIO], file:PATH, opencv:INDEX_OR_URL, picamera2)"
    )
