"""Camera sources: `synthetic[:SCENARIO]`, `file:PATH`, `opencv:INDEX_OR_URL`, `picamera2`."""

from __future__ import annotations

from pathlib import Path

from doorbell.config.camera import CameraConfig
from doorbell.device.sources.base import Source, SourceError, SourceStats

__all__ = ["Source", "SourceError", "SourceStats", "open_source"]


def open_source(camera: CameraConfig, start_wall: float | None = None) -> Source:
    """Build (not yet open) the source that `camera.source` names, with any injected faults."""
    kind, _, arg = camera.source.partition(":")
    source: Source
    if kind == "synthetic":
        from doorbell.device.emulation.synthetic_source import SyntheticSource

        source = SyntheticSource(arg or None, camera, start_wall)
    elif kind == "file":
        if not Path(arg).is_file():
            raise SourceError(f"cannot open video {arg!r}: no such file")
        from doorbell.device.sources.opencv import OpenCvSource

        source = OpenCvSource(arg, camera, start_wall, is_file=True)
    elif kind == "opencv" and arg:
        from doorbell.device.sources.opencv import OpenCvSource

        source = OpenCvSource(arg, camera, start_wall)
    elif kind == "picamera2":
        from doorbell.device.sources.picamera2 import Picamera2Source

        source = Picamera2Source(camera)
    else:
        raise SourceError(
            f"unknown camera {camera.source!r} "
            "(allowed: synthetic[:SCENARIO], file:PATH, opencv:INDEX_OR_URL, picamera2)"
        )
    faults = camera.faults
    if faults.drop_percent or faults.stall_at is not None or faults.disconnect_at is not None:
        from doorbell.device.sources.faults import FaultySource

        source = FaultySource(source, faults)
    return source
