"""The restless model's per-pixel thresholds: when they are made from what it learned."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from doorbell.config.motion import MotionConfig
from doorbell.motion.detector import MotionDetector
from doorbell.motion.difference import RangeDifference
from doorbell.motion.restless import (
    IN_PLACE,
    REVOKE_SECONDS,
    REVOKE_STEPS,
    WIDE,
    YOUNG_SECONDS,
    K,
    RestlessModel,
    _not_in_place,
    _wide_range,
)

SIZE = (160, 120)
FPS = 15.0


def grown_up() -> RestlessModel:
    """A model past its young seconds that has learned a sway in one corner (so that its
    thresholds are above the floor there), its last step just taken."""
    rng = np.random.default_rng(5)
    model = RestlessModel(SIZE)
    base = rng.integers(60, 200, SIZE[::-1], dtype=np.uint8)
    i = 0
    while model.young or i < YOUNG_SECONDS * FPS + 8:
        frame = base.copy()
        frame[:24, :24] = np.where(i % 2, 40, 220)  # leaves: back and forth in place
        diff = np.zeros_like(frame)
        diff[:24, :24] = 60
        model.update(frame, lambda: base, diff, i / FPS, active_level=2.0)
        i += 1
    return model


def test_thresholds_due_on_a_busy_frame_wait_one_frame_once() -> None:
    """After a learning step the next frame gives the thresholds from before (`late`); the one
    after makes them, unless the lighting judged it: then it too gives the ones before, once, and
    the next makes them, busy or not."""
    model = grown_up()
    floor = 6.0
    before = model.thresholds(floor)  # (the step's late frame: the ones from before)
    assert model._needed is None
    assert model.thresholds(floor, defer=True) is before  # busy: put off
    assert model._needed is None
    made = model.thresholds(floor, defer=True)  # busy again: made all the same
    assert model._needed is not None
    assert made is not None and made is not before
    assert made[:12, :12].min() > floor  # (the sway's corner)


def test_thresholds_are_made_at_once_after_the_light_changed_even_on_a_busy_frame() -> None:
    model = grown_up()
    floor = 6.0
    model.thresholds(floor)  # (the late frame)
    model.relight(0.8)
    model.thresholds(floor, defer=True)
    assert model._needed is not None


def test_a_frame_not_busy_makes_the_thresholds_due() -> None:
    model = grown_up()
    model.thresholds(6.0)
    model.thresholds(6.0)
    assert model._needed is not None


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 255))
def test_not_in_place_on_whole_levels_is_the_float_test(seed: int, top: int) -> None:
    """On whole levels (uint8) the young model's "moving through" is the float test's, the wide
    difference above the difference too (a range of another frame) and near 255."""
    rng = np.random.default_rng(seed)
    wide = rng.integers(0, top + 1, (60, 80)).astype(np.uint8)
    far = rng.integers(0, top + 1, (60, 80)).astype(np.uint8)
    expected = np.where(wide.astype(np.float32) > far * np.float32(IN_PLACE), 255, 0)
    assert (_not_in_place(wide, far) == expected).all()
    assert (_not_in_place(wide.astype(np.float32), far.astype(np.float32)) == expected).all()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 40))
def test_the_wide_range_from_the_3x3_range_is_the_backgrounds(
    seed: int, width: int, height: int
) -> None:
    """The WIDE x WIDE range made from the measured 3x3 range is the one measured on the
    background, to the picture's edges (small pictures: all edge)."""
    background = np.random.default_rng(seed).integers(0, 256, (height, width)).astype(np.uint8)
    near = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    measured = (cv2.dilate(background, near), cv2.erode(background, near))
    wide = cv2.getStructuringElement(cv2.MORPH_RECT, (WIDE, WIDE))
    high, low = _wide_range(lambda: background, lambda: measured)
    assert (high == cv2.dilate(background, wide)).all()
    assert (low == cv2.erode(background, wide)).all()


def test_the_range_is_given_only_for_the_array_it_was_measured_on() -> None:
    """The range is reused for the wide range only where it is that of the very background
    asked about: not another array (a later frame's, one moved by a shake), nor once scaled
    by a gain or forgotten."""
    background = np.random.default_rng(3).integers(0, 256, (24, 32)).astype(np.uint8)
    apart = RangeDifference()
    assert apart.range_of(background) is None
    apart.measure(background)
    assert apart.range_of(background) is not None
    assert apart.range_of(background.copy()) is None
    apart.scale(1.1)
    assert apart.range_of(background) is None
    apart.measure(background)
    apart.forget()
    assert apart.range_of(background) is None


def test_the_young_model_learns_from_the_range_the_detector_measured_on_its_frame() -> None:
    """While young the detector gives the restless model the 3x3 range it measured on this
    frame's background (so the wide range is one step from it); later, whenever it gives one,
    that range is the background's, not one measured on an earlier frame."""
    rng = np.random.default_rng(7)
    base = cv2.GaussianBlur(rng.integers(0, 256, (120, 160)).astype(np.uint8), (5, 5), 0)
    detector = MotionDetector(MotionConfig(), (160, 120))
    model = detector._restless
    given_ranges: list[float] = []
    update = model.update

    def watched(
        current: np.ndarray,
        reference: Callable[[], np.ndarray],
        diff: np.ndarray,
        t: float,
        active_level: float,
        near: Callable[[], tuple[np.ndarray, np.ndarray] | None] | None = None,
    ) -> None:
        measured = near() if near is not None else None
        if measured is not None:
            kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
            assert (measured[0] == cv2.dilate(reference(), kernel)).all()
            assert (measured[1] == cv2.erode(reference(), kernel)).all()
            given_ranges.append(t)
        update(current, reference, diff, t, active_level, near)

    model.update = watched
    for i in range(int(REVOKE_SECONDS * FPS)):  # (later the range may be of an earlier frame)
        frame = base.copy()
        frame[:30, :30] = np.roll(base[:30, :30], i % 3 - 1, axis=1)  # leaves: in place
        detector.process(frame, i / FPS)
    assert len(given_ranges) >= YOUNG_SECONDS * FPS - 2


def test_what_the_young_model_held_is_forgotten_after_revoke_steps_through() -> None:
    """A block whose change shows through (not in place) on REVOKE_STEPS learning steps in a row
    forgets its spread on the last of them, not before; blocks that do not change keep theirs."""
    rng = np.random.default_rng(11)
    base = rng.integers(60, 200, SIZE[::-1], dtype=np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    high, low = cv2.dilate(base, kernel), cv2.erode(base, kernel)
    model = RestlessModel(SIZE)
    model.update(base, lambda: base, np.zeros_like(base), 0.0, active_level=2.0)
    model.spread.fill(5.0)  # (as if held before: a sway)
    frame = base.copy()
    frame[:24, :24] = 255  # something new, far from anything the background has near
    diff = cv2.max(cv2.subtract(frame, high), cv2.subtract(low, frame))
    for step in range(1, REVOKE_STEPS + 1):
        model.update(frame, lambda: base, diff, step / FPS, active_level=2.0)
        forgotten = step >= REVOKE_STEPS
        assert (model.spread[2:10, 2:10] == (0.0 if forgotten else 5.0)).all(), step
        assert (model.spread[20:, 20:] == 5.0).all()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 80.0), st.floats(1.0, 120.0))
def test_the_thresholds_are_k_times_the_neighbourhoods_spread_floored_and_capped(
    seed: int, floor: float, top: float
) -> None:
    """Each pixel's threshold: K x the largest spread of its 3x3 blocks, at least the floor's
    whole level, at most 255, truncated to whole levels (spreads past 255 / K too)."""
    model = RestlessModel(SIZE)
    rng = np.random.default_rng(seed)
    model.spread[:] = rng.random(model.spread.shape, dtype=np.float32) * np.float32(top)
    model._learned = YOUNG_SECONDS  # (learned: thresholds are made from the spread)
    given_ = model.thresholds(floor)
    needed = cv2.dilate(model.spread, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))) * K
    if needed.max() <= floor:
        assert given_ is None
        return
    small = np.minimum(np.maximum(needed, np.float32(int(floor))), 255.0).astype(np.uint8)
    assert given_ is not None
    assert (given_ == np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)).all()


def test_thresholds_wait_on_a_busy_frame_whatever_made_the_spread_grid_before() -> None:
    """The noise's frame asks for the calm places (K x spread made then): a judged frame after it
    still gives the thresholds from before, once."""
    model = grown_up()
    before = model.thresholds(6.0)  # (the step's late frame)
    model.calm(6.0, 4)
    assert model.thresholds(6.0, defer=True) is before
    assert model.thresholds(6.0, defer=True) is not before
