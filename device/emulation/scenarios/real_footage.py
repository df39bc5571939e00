"""Scenes made from real footage: a real clip's lores luma, and a stress loop built from it.

The stress loop is the issue-13 self-check: a region of real foliage, enlarged to fill the
frame, played forward and back for as long as needed (a tree in wind that never stops), the
camera jittering by about a pixel, optionally darkened (a porch at night), and a visitor pasted
in at a known time: foliage must stay quiet, the visitor must raise an event at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from doorbell.device.emulation.scenarios.sprites import make, paste

LORES = (320, 240)
Polygon = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Footage:
    """A real clip (tests/data) and the zones that say what it shows: in a `quiet` zone
    nothing should raise an event (every event there is a false alarm)."""

    file: str
    zones: dict[str, Polygon]
    quiet: tuple[str, ...] = ()


# The trees along the left edge of the highway, above the fence; the overlay's date and clock
# in the top-left corner, and the road below the overlays.
FOOTAGE = (
    Footage(
        "highway-trees.avi",
        {"trees": ((0.0, 0.0), (0.5, 0.0), (0.3, 0.35), (0.0, 0.45))},
        quiet=("trees",),
    ),
    Footage(
        "highway-overlay.avi",
        {
            "clock": ((0.0, 0.0), (0.3, 0.0), (0.3, 0.16), (0.0, 0.16)),
            "road": ((0.0, 0.18), (1.0, 0.18), (1.0, 1.0), (0.0, 1.0)),
        },
    ),
)
# The stress loop's foliage: the trees of highway-trees.avi (lores px), above the fence.
TREES = (0, 0, 140, 95)


def read_luma(path: Path, size: tuple[int, int] = LORES) -> tuple[list[np.ndarray], float]:
    """Every frame of a video file as lores luma (area-resampled, as a Source does), and the
    frame rate its header states."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"cannot open video {path}")
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 15.0
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        luma = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        frames.append(cv2.resize(luma, size, interpolation=cv2.INTER_AREA))
    capture.release()
    return frames, fps


@dataclass(frozen=True)
class StressLoop:
    frames: list[np.ndarray]
    fps: float
    visitor: tuple[int, int] | None  # first and last frame the visitor is in view


def stress_loop(
    source: list[np.ndarray],
    region: tuple[int, int, int, int],
    seconds: float,
    fps: float = 15.0,
    gain: float = 1.0,
    exposure: float = 1.0,
    jitter: float = 1.0,
    visitor_at: float | None = None,
    loop_frames: int = 50,
    seed: int = 3,
) -> StressLoop:
    """`region` (x, y, w, h) of the first `loop_frames` source frames, enlarged to the lores
    frame and brightened `exposure` times (clipping, as a camera exposing for the shade
    overexposes the sky), ping-pong looped for `seconds`; camera jitter of about `jitter` px;
    a visitor walking in from the right at `visitor_at` seconds, staying 3 s and leaving; all
    of it times `gain`."""
    x, y, w, h = region
    crops = [
        cv2.convertScaleAbs(
            cv2.resize(f[y : y + h, x : x + w], LORES, interpolation=cv2.INTER_LINEAR),
            alpha=exposure,
        )
        for f in source[:loop_frames]
    ]
    cycle = crops + crops[-2:0:-1]
    rng = np.random.default_rng(seed)
    sprite = make("person", (70, 60, 50), seed)
    count = round(seconds * fps)
    frames, shown = [], []
    width, height = LORES
    for seq in range(count):
        t = seq / fps
        frame = cv2.cvtColor(cycle[seq % len(cycle)], cv2.COLOR_GRAY2BGR)
        if visitor_at is not None and visitor_at <= t <= visitor_at + 5.0:
            # In over 1 s from the right edge, 3 s standing (swaying a little), out over 1 s.
            k = t - visitor_at
            across = min(1.0, k) if k < 4.0 else max(0.0, 5.0 - k)
            box_h = int(0.9 * height)
            box_w = int(0.38 * box_h)
            left = int(width - across * 0.45 * width + 3 * math.sin(3 * k))
            paste(frame, sprite, (left, height - box_h, box_w, box_h))
            if left < 0.95 * width:  # a twentieth of the frame's width in view
                shown.append(seq)
        luma = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        dx, dy = (jitter * float(v) for v in rng.uniform(-1.0, 1.0, 2))
        matrix = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        luma = cv2.warpAffine(luma, matrix, LORES, borderMode=cv2.BORDER_REFLECT)
        if gain != 1.0:
            luma = cv2.convertScaleAbs(luma, alpha=gain)
        frames.append(luma)
    visitor = (shown[0], shown[-1]) if shown else None
    return StressLoop(frames, fps, visitor)
