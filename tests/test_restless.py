"""The restless model's per-pixel thresholds: when they are made from what it learned."""

from __future__ import annotations

import numpy as np

from doorbell.motion.restless import YOUNG_SECONDS, RestlessModel

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
