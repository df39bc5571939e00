"""The lighting's judgements, replayed cold: this tree's motion/lighting.py against another
checkout's (issue 27's fourteenth round).

A judged frame is 1-2 % of frames; timed within whole frames (motion_speed.py, the tail) a few
us saved in the judgement are lost in the spread. Here both LightingModels see every frame of the
real clips (and of any library scenes named) in lockstep, inside the detector of this tree, and
their estimates are compared bit for bit on every frame (gain map included). Each judgement's
state and inputs are kept; then every judgement is replayed ROUNDS times on a copy of each
model's state, the two in random order, each after Frigate's detector or MOG2 has run on a frame
(the caches as cold as in the comparison with Frigate). Prints per clip the judgements, the
frames whose estimates differ, the mean over judgements of each one's median us, and the paired
difference (this - base; negative: this tree's is cheaper).

    python benchmarks/lighting_replay.py --base /work/main --frigate /tmp/frigate [scene ...]
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.motion_speed import ANALYSIS, Mog2, real_clips, scene_frames
from doorbell.config.motion import MotionConfig
from doorbell.motion import lighting
from doorbell.motion.detector import MotionDetector

ROUNDS = 10


def load_lighting(root: Path) -> ModuleType:
    """`motion/lighting.py` of the checkout at `root`, as a module of its own."""
    spec = importlib.util.spec_from_file_location("base_lighting", root / "motion" / "lighting.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


def same(a: Any, b: Any) -> bool:
    """The same estimate, bit for bit."""
    fields = ("judged", "gain", "lit_share", "global_gain", "even")
    if any(getattr(a, f) != getattr(b, f) for f in fields):
        return False
    if a.gain_map is None or b.gain_map is None:
        return a.gain_map is None and b.gain_map is None
    return bool(np.array_equal(a.gain_map, b.gain_map))


Judgement = tuple[Any, Any, np.ndarray, np.ndarray, bool]


def judgements(
    base: ModuleType, frames: list[np.ndarray], fps: float
) -> tuple[list[Judgement], int]:
    """Both models in lockstep over `frames`: each judgement's states (before) and inputs, and
    the number of frames whose estimates differ."""
    detector = MotionDetector(MotionConfig(), ANALYSIS)
    ours = detector._lighting
    twin = base.LightingModel(
        ours.size, ours.size[0] // ours.grid[0], ours.max_residual, ours.flat_std
    )
    assert twin.grid == ours.grid
    estimate = ours.estimate
    kept: list[Judgement] = []
    differing = 0

    def both(
        current: np.ndarray,
        background: np.ndarray,
        reference: Callable[[], np.ndarray],
        refresh: bool = False,
    ) -> lighting.LightingEstimate:
        nonlocal differing
        before = (copy.deepcopy(twin), copy.deepcopy(ours))
        before[1].__dict__.pop("estimate", None)  # (the copy's own method, not this wrapper)
        theirs = twin.estimate(current, background, reference, refresh)
        result = estimate(current, background, reference, refresh)
        differing += not same(theirs, result)
        if result.judged:
            kept.append((*before, current.copy(), background.copy(), refresh))
        return result

    ours.estimate = both  # type: ignore[method-assign]
    for i, luma in enumerate(frames):
        detector.process(luma, i / fps)
    return kept, differing


def replay(
    kept: list[Judgement],
    others: list[Callable[[np.ndarray, float], Any]],
    frames: list[np.ndarray],
) -> tuple[list[float], list[float]]:
    """Per judgement, the median us of thread time of base's and of ours over ROUNDS replays."""
    clock = time.thread_time_ns
    rng = random.Random(7)
    spent: list[tuple[list[float], list[float]]] = [([], []) for _ in kept]
    for rnd in range(ROUNDS):
        for k, (theirs, ours, current, background, refresh) in enumerate(kept):
            pair = [(theirs, spent[k][0]), (ours, spent[k][1])]
            rng.shuffle(pair)
            rng.shuffle(others)
            for i, (state, times) in enumerate(pair):
                # (the caches made cold, as in the comparison with Frigate)
                others[i % len(others)](frames[(7 * k + rnd) % len(frames)], 0.0)
                model = copy.deepcopy(state)

                def reference(background: np.ndarray = background) -> np.ndarray:
                    return cv2.convertScaleAbs(background)

                start = clock()
                model.estimate(current, background, reference, refresh)
                times.append((clock() - start) / 1e3)
    return [statistics.median(t) for t, _ in spent], [statistics.median(t) for _, t in spent]


def main() -> None:
    global ROUNDS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="checkout to compare against")
    parser.add_argument("--frigate", type=Path, help="Frigate's source (else MOG2 alone)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("scenes", nargs="*", help="library scenes too (300 frames each)")
    args = parser.parse_args()
    ROUNDS = args.rounds
    cv2.setNumThreads(1)
    base = load_lighting(args.base)
    clips = real_clips() + [(name, scene_frames(name, 300), 15.0) for name in args.scenes]
    print(f"judgements replayed {ROUNDS}x cold: {args.base} (base) vs this tree; us per judgement")
    print("clip                 judged  differing  base mean  this mean  paired diff mean / median")
    for name, frames, fps in clips:
        kept, differing = judgements(base, frames, fps)
        others: list[Callable[[np.ndarray, float], Any]] = [Mog2().process]
        if args.frigate is not None:
            from benchmarks.motion_frigate import FrigateDetector, load

            others.append(FrigateDetector(load(args.frigate), ANALYSIS, round(fps)).process)
        if not kept:
            print(f"{name:20} {0:6} {differing:10}")
            continue
        theirs, ours = replay(kept, others, frames)
        diff = [b - a for a, b in zip(theirs, ours, strict=True)]
        print(
            f"{name:20} {len(kept):6} {differing:10} {statistics.mean(theirs):10.0f}"
            f" {statistics.mean(ours):10.0f}  {statistics.mean(diff):+8.1f} /"
            f" {statistics.median(diff):+.1f}"
        )


if __name__ == "__main__":
    main()
