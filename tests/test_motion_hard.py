"""The detector where real cameras are hard (issue 13), on small made-up scenes: leaves that
fill most of the frame and sway from the first frame on, a camera that shifts by a few pixels,
a porch at a quarter of the light."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from doorbell.config.motion import MotionConfig
from doorbell.device.emulation.scenarios.canopy import Canopy
from doorbell.motion.detector import MotionDetector
from tests.test_motion import FPS, SIZE, noisy, person, porch, run, starts


def leafy(
    seconds: float,
    rng: np.random.Generator,
    visitor_from: int | None = None,
    period: float = 1.7,
) -> list:
    """Leaves over most of a porch, swaying by up to 4 px (non-rigidly, with gusts, every
    `period` s) from the first frame; from frame `visitor_from` on, a visitor walks up the
    clearing in front."""
    canopy = Canopy(*SIZE, seed=5)
    bg = cv2.cvtColor(porch(), cv2.COLOR_GRAY2BGR)
    frames = []
    for i in range(int(seconds * FPS)):
        frame = bg.copy()
        canopy.draw(frame, i / FPS, amount=4.0, period=period)
        luma = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if visitor_from is not None and i >= visitor_from:
            luma = person(luma, 160, 230, min(200, 60 + 4 * (i - visitor_from)))
        frames.append(noisy(luma, rng))
    return frames


def test_leaves_swaying_over_most_of_the_frame_from_the_start_raise_nothing() -> None:
    results, updates = run(leafy(20.0, np.random.default_rng(1)))
    assert starts(updates) == []
    # and they are not merely under min_area: all but specks are quiet after the first seconds
    assert max(r.score for r in results[int(3 * FPS) :]) < 0.3
    # nor quiet by deafness: the sway is not taken for sensor noise, the clear path keeps the
    # floor for a threshold
    assert max(r.threshold for r in results) == MotionConfig().threshold


def test_leaves_in_a_quick_sway_from_the_first_frame_are_not_taken_for_sensor_noise() -> None:
    """The noise is first measured once the young restless model has learned the sway it sees
    from the first frame (the second cycle of the detector's work): measured on the first
    frame, leaves swaying every 0.4 s raised the floor from 25 to 41 for a few seconds."""
    results, _ = run(leafy(4.0, np.random.default_rng(1), period=0.4))
    assert max(r.threshold for r in results) == MotionConfig().threshold


def test_a_visitor_walking_in_front_of_the_leaves_alerts_at_once() -> None:
    arrives = int(15 * FPS)
    _, updates = run(leafy(20.0, np.random.default_rng(2), visitor_from=arrives))
    events = starts(updates)
    assert len(events) == 1
    assert arrives <= events[0].start_seq <= arrives + 3


def crossing(seconds: float, rng: np.random.Generator, leaves: bool) -> list:
    """A walker crossing the picture from left to right from the very first frame (4 px a
    frame), through the leaves swaying from the first frame too (or a bare porch)."""
    canopy = Canopy(*SIZE, seed=5)
    bg = cv2.cvtColor(porch(), cv2.COLOR_GRAY2BGR)
    frames = []
    for i in range(int(seconds * FPS)):
        frame = bg.copy()
        if leaves:
            canopy.draw(frame, i / FPS, amount=4.0, period=1.7)
        luma = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        frames.append(noisy(person(luma, 20 + 4 * i, 200, 90), rng))
    return frames


@pytest.mark.parametrize("leaves", [True, False], ids=["through-leaves", "bare-porch"])
def test_a_walker_moving_from_the_first_frame_alerts_within_a_second(leaves: bool) -> None:
    # (issue 27: what moves from the first frame was learned as leaves and hidden for seconds)
    results, updates = run(crossing(5.0, np.random.default_rng(6), leaves))
    events = starts(updates)
    assert len(events) == 1 and events[0].start_seq <= FPS
    # and stays motion while crossing, not only at its start
    assert sum(r.motion for r in results[int(FPS) : int(4 * FPS)]) >= 0.9 * 3 * FPS


def shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    matrix = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    return cv2.warpAffine(image, matrix, SIZE, borderMode=cv2.BORDER_REPLICATE)


def bricks() -> np.ndarray:
    """Bricks of 16x8 px, each its own shade: edges everywhere, as a porch has."""
    rng = np.random.default_rng(7)
    shades = rng.integers(40, 220, (SIZE[1] // 8, SIZE[0] // 16), dtype=np.uint8)
    wall = cv2.resize(shades, SIZE, interpolation=cv2.INTER_NEAREST)
    return cv2.GaussianBlur(wall, (3, 3), 0)


def test_the_camera_shifted_by_three_or_four_pixels_now_and_then_is_not_motion() -> None:
    rng = np.random.default_rng(3)
    bg = bricks()
    frames = []
    for i in range(300):  # a door slam every two seconds: 3-4 px for a third of a second
        knocked = i % 30 < 5 and i > 30
        offset = (3.0 + (i % 3) * 0.5, -2.0) if knocked else (0.0, 0.0)
        frames.append(noisy(shifted(bg, *offset), rng))
    results, updates = run(frames)
    assert starts(updates) == []
    assert max(r.score for r in results) < 0.5


def test_a_visitor_at_a_quarter_of_the_light_alerts_and_stays_in_view() -> None:
    rng = np.random.default_rng(4)
    dim = (porch() * 0.25).astype(np.uint8)  # mean luma about 30
    frames = [noisy(dim, rng, sigma=1.5) for _ in range(45)]
    arrives = len(frames)
    for step in range(60):
        scene = person(porch(), 160, 200, 60 + step * 2)
        frames.append(noisy((scene * 0.25).astype(np.uint8), rng, sigma=1.5))
    frames += [noisy(dim, rng, sigma=1.5) for _ in range(60)]
    results, updates = run(frames)
    events = starts(updates)
    assert len(events) == 1
    assert arrives <= events[0].start_seq <= arrives + 3
    assert all(r.motion for r in results[arrives + 3 : arrives + 60])
    assert MotionConfig().threshold > results[arrives].threshold  # the floor followed the light


def test_a_drop_in_light_scales_what_the_leaves_need_at_once() -> None:
    # (issue 27) At 60 % of the light the leaves differ from each other by 60 % as much, and so
    # does a visitor in front of them: what a place needs to count as motion follows at once.
    frames = leafy(4.0, np.random.default_rng(8))
    detector = MotionDetector(MotionConfig(), SIZE)
    for i, frame in enumerate(frames):
        detector.process(frame, i / FPS)
    before = detector._restless.thresholds(1.0)
    assert before is not None and int(before.max()) > 60
    before = before.copy()
    t = len(frames) / FPS
    detector.process(cv2.convertScaleAbs(frames[-1], alpha=0.6), t)
    after = detector._restless.thresholds(1.0)
    assert after is not None
    leaves = before > 60
    ratio = float(np.median(after[leaves].astype(np.float32) / before[leaves]))
    assert 0.5 <= ratio <= 0.7
