"""A scripted scene: renders any frame by number, the same every time, with its ground truth."""

from __future__ import annotations

import functools
import itertools
import math
from pathlib import Path

import cv2
import numpy as np

from doorbell.device.emulation.scenarios import effects
from doorbell.device.emulation.scenarios.canopy import Canopy
from doorbell.device.emulation.scenarios.porch import Region, porch
from doorbell.device.emulation.scenarios.spec import Actor, Scene
from doorbell.device.emulation.scenarios.sprites import Sprite, aspect, make, paste, photo
from doorbell.device.emulation.scenarios.truth import (
    ActorTruth,
    FrameTruth,
    GroundTruth,
    TruthEvent,
)

NOISE_MARGIN = 32
# An alerting actor counts as "clearly in view" once a fifth of the frame tall and off the street
# (its feet below the kerb), i.e. on the lawn, path or porch.
VISIBLE_SIZE = 0.2
KERB = 0.32


# Sensor noise grows as the light falls (the camera's gain amplifies it): relative to daylight,
# gain ** -NOISE_EXPONENT, at most NOISE_MAX (also the IR night's level).
NOISE_EXPONENT = 0.75
NOISE_MAX = 2.5


class NoiseTile:
    """One noise frame, split into its positive and negative parts (a saturating add and
    subtract: the fast path, in daylight), and signed (to scale in the dark), made only when a
    scene first needs it: at 720p each form is 3 MB."""

    def __init__(self, pos: np.ndarray, neg: np.ndarray) -> None:
        self.pos, self.neg = pos, neg

    def negated(self) -> NoiseTile:
        """The same noise with its sign flipped, sharing this tile's memory."""
        return NoiseTile(self.neg, self.pos)

    @functools.cached_property
    def signed(self) -> np.ndarray:  # int8
        return cv2.subtract(self.pos, self.neg, dtype=cv2.CV_8S)


def _noise_bank(shape: tuple[int, int], sigma: float, seed: int) -> list[NoiseTile]:
    """One tile of noise and its negation. Each frame takes one of the two at a random offset:
    with a single form, consecutive frames would often be shifted copies of each other's noise
    (which registration would lock onto); the negation costs no memory and correlates negatively,
    where a second tile would cost 6 MB at 720p."""
    rng = np.random.default_rng(seed)
    height, width = shape[0] + NOISE_MARGIN, shape[1] + NOISE_MARGIN
    pos = np.empty((height, width, 3), np.uint8)
    neg = np.empty((height, width, 3), np.uint8)
    # A band of rows at a time: a whole 720p tile in float64 would be 24 MB at once, and the
    # C allocator keeps such peaks as resident memory long after they are freed.
    for top in range(0, height, 64):
        band = rng.standard_normal((min(64, height - top), width, 3), dtype=np.float32)
        band *= sigma
        np.clip(np.round(band, out=band), -127, 127, out=band)
        rows = slice(top, top + len(band))
        np.maximum(band, 0, out=pos[rows], casting="unsafe")
        np.maximum(-band, 0, out=neg[rows], casting="unsafe")
    tile = NoiseTile(pos, neg)
    return [tile, tile.negated()]


def noise_factor(gain: float, infrared: bool) -> float:
    """How much noisier than in daylight: 1 at gain >= 1, rising smoothly in the dark."""
    if infrared:
        return NOISE_MAX
    return min(NOISE_MAX, max(1.0, gain**-NOISE_EXPONENT))


class Scenario:
    def __init__(self, scene: Scene, seed: int | None = None) -> None:
        self.scene = scene
        self.name, self.kind, self.description = scene.name, scene.kind, scene.description
        self.fps = scene.fps
        self.width, self.height = scene.width, scene.height
        self.duration = scene.duration
        self.seed = scene.seed if seed is None else seed
        self.frame_count = None if scene.duration is None else round(scene.duration * scene.fps)
        self.lores_size = (320, 240)
        if scene.background == "porch":
            self.background, self.bush = porch(self.width, self.height, self.seed)
        else:
            image = cv2.imread(str(Path(scene.background)))
            if image is None:
                raise ValueError(f"cannot read background image {scene.background}")
            self.background = cv2.resize(image, (self.width, self.height))
            self.bush = Region(0, 0, 1, 1)
        self._sprites: dict[str, Sprite] = {
            a.name: photo(a.image)
            if a.image
            else make(a.kind, a.colour, self.seed * 1000 + a.seed + i)
            for i, a in enumerate(scene.actors)
        }
        self._aspects = {a.name: aspect(a.kind, a.image) for a in scene.actors}
        self._noise: list[NoiseTile] | None = None
        self._leaves: Canopy | None = None

    # -- where things are -------------------------------------------------------------------------
    def _local_time(self, t: float) -> float:
        """Time within the scene's script (a scene that repeats starts it again each period)."""
        period = self.scene.repeat_every
        return t % period if period else t

    def actor_box(self, actor: Actor, t: float) -> tuple[int, int, int, int] | None:
        """Pixel box (x, y, w, h) of an actor at time t, or None when it is not in the scene."""
        t = self._local_time(t)
        path = actor.path
        if t < path[0].t or t > path[-1].t:
            return None
        for a, b in itertools.pairwise(path):
            if a.t <= t <= b.t:
                k = 0.0 if b.t == a.t else (t - a.t) / (b.t - a.t)
                x, y = a.x + (b.x - a.x) * k, a.y + (b.y - a.y) * k
                size = a.size + (b.size - a.size) * k
                break
        else:
            x, y, size = path[0].x, path[0].y, path[0].size
        if actor.kind == "insect":  # erratic flight
            x += 0.04 * math.sin(t * 11.0 + actor.seed) + 0.02 * math.sin(t * 23.0)
            y += 0.04 * math.cos(t * 13.0 + actor.seed)
        h = int(size * self.height)
        w = int(h * self._aspects[actor.name])
        return int(x * self.width) - w // 2, int(y * self.height) - h, w, h

    def rings_during(self, seq: int) -> bool:
        """Whether the visitor presses the button during frame `seq` (t to t + 1/fps)."""
        if not self.scene.rings:
            return False
        t, step = seq / self.fps, 1 / self.fps
        offsets = (self._local_time(t - ring) for ring in self.scene.rings)
        return any(0 <= offset < step - 1e-9 for offset in offsets)  # float t: no second frame

    def _clipped(self, box: tuple[int, int, int, int]) -> tuple[float, float, float, float] | None:
        x, y, w, h = box
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.width, x + w), min(self.height, y + h)
        if x1 <= x0 or y1 <= y0:
            return None
        W, H = self.width, self.height
        return (x0 / W, y0 / H, (x1 - x0) / W, (y1 - y0) / H)

    # -- pictures ---------------------------------------------------------------------------------
    def render(self, seq: int) -> tuple[np.ndarray, np.ndarray]:
        """The main BGR frame and the lores luma for frame `seq`."""
        scene, t = self.scene, seq / self.fps
        frame = self.background.copy()
        effects.sway(frame, self.background, self.bush, scene.effects, t)
        for leaves in (e for e in scene.effects if e.kind == "leaves" and effects.active(e, t)):
            self._canopy().draw(frame, t, leaves.amount, leaves.period)
        # Back to front: the lower an actor's feet, the nearer it is.
        placed = [(box, a) for a in scene.actors if (box := self.actor_box(a, t)) is not None]
        for box, actor in sorted(placed, key=lambda p: p[0][1] + p[0][3]):
            paste(frame, self._sprites[actor.name], box)
        rng = np.random.default_rng([self.seed, seq])
        effects.weather(frame, scene.effects, t, rng, self.seed)
        gain = effects.global_gain(scene.effects, t) * (0.7 if scene.night else 1.0)
        spatial = effects.gain_map(scene.effects, t, (self.width, self.height))
        if spatial is not None:
            frame = cv2.multiply(frame, cv2.merge([spatial * gain] * 3), dtype=cv2.CV_8U)
        elif abs(gain - 1.0) > 1e-3:
            frame = cv2.convertScaleAbs(frame, alpha=gain)
        ir = effects.infrared(scene.effects, t, scene.night)
        if ir:  # the IR cut filter is out: a grey picture, noise and all
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        frame = effects.shake(frame, scene.effects, t, rng)
        bank = self._bank()
        tile = bank[int(rng.integers(len(bank)))]
        dy, dx = (int(v) for v in rng.integers(0, NOISE_MARGIN, 2))
        window = (slice(dy, dy + self.height), slice(dx, dx + self.width))
        factor = noise_factor(gain, ir)
        if factor == 1.0:
            pos, neg = tile.pos[window], tile.neg[window]
            if ir:
                pos, neg = pos[..., 0], neg[..., 0]
            cv2.add(frame, pos, dst=frame)
            cv2.subtract(frame, neg, dst=frame)
        else:
            noise = tile.signed[window][..., 0] if ir else tile.signed[window]
            frame = cv2.addWeighted(frame, 1.0, noise, factor, 0.0, dtype=cv2.CV_8U)
        frame = effects.compression(frame, scene.effects, t)
        luma = frame if ir else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        lores = cv2.resize(luma, self.lores_size, interpolation=cv2.INTER_AREA)
        if ir:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return frame, lores

    def _canopy(self) -> Canopy:
        """The scenario's leaves, made when first needed."""
        if self._leaves is None:
            self._leaves = Canopy(self.width, self.height, self.seed)
        return self._leaves

    def _bank(self) -> list[NoiseTile]:
        """The scenario's noise frames, made when first needed."""
        if self._noise is None:
            sigma = max(self.scene.noise, 0.01)
            self._noise = _noise_bank((self.height, self.width), sigma, self.seed + 1)
        return self._noise

    # -- truth ------------------------------------------------------------------------------------
    @functools.cached_property
    def truth(self) -> GroundTruth:
        if self.frame_count is None:
            raise ValueError(f"{self.name} is endless: it has no finite ground truth")
        return self.ground_truth(self.frame_count)

    def frame_truth(self, seq: int) -> FrameTruth:
        """Who is in view in frame `seq`, with boxes normalised and clipped to the frame."""
        t = seq / self.fps
        seen = []
        for actor in self.scene.actors:
            box = self.actor_box(actor, t)
            clipped = None if box is None else self._clipped(box)
            if clipped is not None:
                seen.append(ActorTruth(actor.name, actor.kind, clipped))
        return FrameTruth(seq, seen)

    def ground_truth(self, frame_count: int) -> GroundTruth:
        """Ground truth of the first `frame_count` frames (an endless scene's too)."""
        frames: list[FrameTruth] = []
        spans: dict[tuple[str, int], tuple[int, int]] = {}
        actors = {a.name: a for a in self.scene.actors}
        period = self.scene.repeat_every
        for seq in range(frame_count):
            t = seq / self.fps
            frame = self.frame_truth(seq)
            for seen in frame.actors:
                actor = actors[seen.name]
                _, y, _, h = seen.box
                if actor.alert and h >= VISIBLE_SIZE and y + h >= KERB:
                    key = (actor.name, int(t // period) if period else 0)
                    first, _ = spans.get(key, (seq, seq))
                    spans[key] = (first, seq)
            frames.append(frame)
        alerts = [
            TruthEvent(name, actors[name].kind, first, last, actors[name].label)
            for (name, _), (first, last) in sorted(spans.items(), key=lambda kv: kv[1][0])
        ]
        rings = [seq for seq in range(frame_count) if self.rings_during(seq)]
        return GroundTruth(frames, alerts, rings)
