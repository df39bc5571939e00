"""Light and weather: what each effect does to a frame at time t. Deterministic per (seed, t)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from doorbell.device.emulation.scenarios.porch import Region
from doorbell.device.emulation.scenarios.spec import Effect


def active(effect: Effect, t: float) -> bool:
    return t >= effect.start and (effect.end is None or t < effect.end)


def _progress(effect: Effect, t: float) -> float:
    if t < effect.start:
        return 0.0
    if effect.end is None or effect.end <= effect.start:
        return 1.0
    return min(1.0, (t - effect.start) / (effect.end - effect.start))


def global_gain(effects: list[Effect], t: float) -> float:
    """Brightness factor of the whole scene (porch light, dusk, auto-exposure)."""
    gain = 1.0
    for e in effects:
        if e.kind == "light_step" and active(e, t):
            gain *= e.gain
        elif e.kind == "ramp":
            gain *= 1.0 + (e.gain - 1.0) * _progress(e, t)
        elif e.kind == "exposure_drift" and active(e, t):
            gain *= 1.0 + 0.01 * e.amount * math.sin(2 * math.pi * (t - e.start) / e.period)
        elif e.kind == "ir_switch" and active(e, t):
            gain *= e.gain
    return gain


def infrared(effects: list[Effect], t: float, night: bool) -> bool:
    return night or any(e.kind == "ir_switch" and active(e, t) for e in effects)


def gain_map(effects: list[Effect], t: float, size: tuple[int, int]) -> np.ndarray | None:
    """A spatial light pattern (cloud shadow, headlights) as a small float map, or None."""
    width, height = 64, 48
    out = None
    for e in effects:
        if not active(e, t) or e.kind not in ("cloud", "headlights"):
            continue
        phase = ((t - e.start) % e.period) / e.period
        xx = np.linspace(0, 1, width, dtype=np.float32)[None, :]
        yy = np.linspace(0, 1, height, dtype=np.float32)[:, None]
        if e.kind == "cloud":  # a soft-edged shadow drifting across
            centre = -0.5 + 2.0 * phase
            shade = 1.0 / (1.0 + np.exp(-(0.35 - np.abs(xx - centre)) * 12.0))
            layer = 1.0 - (1.0 - e.gain) * shade * np.ones_like(yy)
        else:  # headlights: a bright soft cone sweeping along the street and onto the lawn
            centre = -0.3 + 1.6 * phase
            cone = np.exp(-(((xx - centre) / 0.18) ** 2) - ((yy - 0.3) / 0.25) ** 2)
            layer = 1.0 + (e.gain - 1.0) * cone
        out = layer if out is None else out * layer
    if out is None:
        return None
    return cv2.resize(out.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)


def weather(
    frame: np.ndarray, effects: list[Effect], t: float, rng: np.random.Generator, seed: int = 0
) -> None:
    """Rain streaks (new every frame: too fast to follow) and snowflakes (drifting down from
    frame to frame), drawn in place."""
    height, width = frame.shape[:2]
    for e in effects:
        if not active(e, t) or e.kind not in ("rain", "snow"):
            continue
        count = int(40 * e.amount)
        if e.kind == "rain":
            xs = rng.integers(0, width, count)
            ys = rng.integers(0, height, count)
            length = max(4, height // 40)
            for x, y in zip(xs, ys, strict=True):
                cv2.line(frame, (int(x), int(y)), (int(x) + 1, int(y) + length), (200, 200, 205), 1)
        else:
            # The same flakes all along (seeded by the scenario), each falling at its own speed.
            x0, y0, speed = np.random.default_rng([seed, 7]).random((3, count))
            elapsed = t - e.start
            ys = (y0 * height + (0.06 + 0.1 * speed) * height * elapsed) % height
            xs = (x0 * width + 0.01 * width * np.sin(1.3 * elapsed + 6.3 * speed)) % width
            radius = max(1, width // 400)
            for x, y in zip(xs, ys, strict=True):
                cv2.circle(frame, (int(x), int(y)), radius, (245, 245, 245), -1)


def sway(
    frame: np.ndarray, background: np.ndarray, bush: Region, effects: list[Effect], t: float
) -> None:
    """Wind in the bush: its leaves shift back and forth by up to `amount` px."""
    for e in effects:
        if e.kind != "foliage" or not active(e, t):
            continue
        dx = e.amount * math.sin(2 * math.pi * (t - e.start) / e.period)
        dy = 0.3 * e.amount * math.sin(2 * math.pi * (t - e.start) / (0.7 * e.period))
        patch = background[bush.y : bush.y + bush.h, bush.x : bush.x + bush.w]
        moved = cv2.warpAffine(
            patch,
            np.array([[1, 0, dx], [0, 1, dy]], np.float32),
            (bush.w, bush.h),
            borderMode=cv2.BORDER_REFLECT,
        )
        frame[bush.y : bush.y + bush.h, bush.x : bush.x + bush.w] = moved


def shake(
    frame: np.ndarray, effects: list[Effect], t: float, rng: np.random.Generator
) -> np.ndarray:
    """The whole picture moved: knocks and jitter (random per frame) and a pan (steady)."""
    dx = dy = 0.0
    moved = False
    for e in effects:
        if e.kind == "pan" and t >= e.start:
            # A slow pan (a drooping mount, a PTZ turning): `amount` px a second sideways from
            # `start` to `end`, and the view stays where it got to.
            end = t if e.end is None else min(t, e.end)
            dx += e.amount * (end - e.start)
            moved = True
    for e in effects:  # the first knock or jitter active at t
        if e.kind not in ("shake", "jitter") or not active(e, t):
            continue
        moved = True
        if e.kind == "shake":
            # A knock or a gust: the whole picture jumps by 1 px up to `amount` px, any way.
            distance = rng.uniform(min(1.0, e.amount), e.amount)
            angle = rng.uniform(0.0, 2 * math.pi)
            dx += distance * math.cos(angle)
            dy += distance * math.sin(angle)
        else:
            # A cheap mount in the wind: every frame a little off, up to `amount` px each way.
            jx, jy = (float(v) for v in rng.uniform(-e.amount, e.amount, 2))
            dx += jx
            dy += jy
        break
    if not moved:
        return frame
    height, width = frame.shape[:2]
    return cv2.warpAffine(
        frame,
        np.array([[1, 0, dx], [0, 1, dy]], np.float32),
        (width, height),
        borderMode=cv2.BORDER_REPLICATE,
    )


def compression(frame: np.ndarray, effects: list[Effect], t: float) -> np.ndarray:
    """A cheap camera's encoder: JPEG at quality `amount` (8x8 blocks, ringing at edges)."""
    for e in effects:
        if e.kind != "compression" or not active(e, t):
            continue
        quality = int(max(1, min(100, e.amount)))
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        flags = cv2.IMREAD_GRAYSCALE if frame.ndim == 2 else cv2.IMREAD_COLOR
        decoded = cv2.imdecode(data, flags) if ok else None
        if decoded is not None:
            return np.asarray(decoded, np.uint8)
    return frame
