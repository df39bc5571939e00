"""Frigate's ImprovedMotionDetector, run from a copy of Frigate's source outside this tree.

Frigate (github.com/blakeblackshear/frigate, MIT) is not installed here nor copied in: the
benchmark is given the path of a checkout (or of an extract holding at least `frigate/motion/`),
and its `frigate.motion.improved_motion` module is loaded from there. The few things that module
imports from the rest of Frigate (its config classes, the PTZ metrics type, a contour helper) are
stood in for here by minimal stubs, so that only Frigate's own detector code is measured; its
configuration is Frigate's defaults (threshold 30, contour_area 10, frame_alpha 0.01,
frame_height 100, improve_contrast on, lightning_threshold 0.8), no mask.

    git --git-dir=<frigate.git> archive --format=tar HEAD frigate/motion | tar -x -C /tmp/frigate
    pip install scipy   # Frigate's detector blurs with scipy.ndimage; the project does not need it
    python benchmarks/motion_speed.py --frigate /tmp/frigate
"""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np


@dataclass
class FrigateMotionConfig:
    """Frigate's MotionConfig defaults (frigate/config/camera/motion.py), as plain data."""

    enabled: bool = True
    threshold: int = 30
    lightning_threshold: float = 0.8
    skip_motion_threshold: float | None = None
    improve_contrast: bool = True
    contour_area: int | None = 10
    delta_alpha: float = 0.2
    frame_alpha: float = 0.01
    frame_height: int | None = 100
    rasterized_mask: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8))


def _grab_cv2_contours(found: tuple[Any, ...]) -> Any:
    """What OpenCV's findContours returned, whatever its version: the contours."""
    return found[0] if len(found) == 2 else found[1]


def _fail(message: str) -> NoReturn:
    """Bad input: one clear line, exit 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _stub(name: str, **attrs: Any) -> types.ModuleType:
    module = sys.modules.get(name) or types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    sys.modules[name] = module
    return module


def load(root: Path) -> type:
    """Frigate's ImprovedMotionDetector class, from `root` (a directory holding frigate/)."""
    source = root / "frigate" / "motion" / "improved_motion.py"
    if not source.is_file():
        _fail(f"no frigate/motion/improved_motion.py under {root}")
    package = _stub("frigate")
    package.__path__ = [str(root / "frigate")]  # frigate.motion is Frigate's own, from disk
    _stub("frigate.camera", PTZMetrics=object)
    _stub("frigate.config", MotionConfig=FrigateMotionConfig).__path__ = []
    _stub("frigate.config.config", RuntimeMotionConfig=FrigateMotionConfig)
    _stub("frigate.util").__path__ = []
    _stub("frigate.util.image", grab_cv2_contours=_grab_cv2_contours)
    try:
        module = importlib.import_module("frigate.motion.improved_motion")
    except ImportError as exc:  # its one third-party need beyond ours: scipy (gaussian_filter)
        _fail(f"Frigate's detector cannot be loaded ({exc}); it needs scipy: pip install scipy")
    detector: type = module.ImprovedMotionDetector
    return detector


class FrigateDetector:
    """Frigate's detector on lores luma frames (the Y plane, as Frigate gets it): `process`
    returns how many motion boxes it found."""

    def __init__(self, cls: type, size: tuple[int, int], fps: int = 15) -> None:
        width, height = size
        config = FrigateMotionConfig(rasterized_mask=np.full((height, width), 255, np.uint8))
        self._detector = cls((height, width, 3), config, fps)

    def process(self, luma: np.ndarray, t: float) -> float:
        return float(len(self._detector.detect(luma)))
