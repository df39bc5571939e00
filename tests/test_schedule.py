"""The detector's periodic work: when it runs, and how long a judged light puts it off."""

from __future__ import annotations

import numpy as np

from doorbell.config.motion import MotionConfig
from doorbell.motion.detector import MotionDetector
from doorbell.motion.schedule import ABSORB, CYCLE, PUT_OFF, RANGE, PeriodicWork


def test_only_frames_that_put_work_off_count_towards_how_long_it_waits() -> None:
    """Judged frames with nothing due (2 and 3 of the cycle) put nothing off: the work of frame 4
    waits its PUT_OFF judged frames from there, whatever was judged before."""
    schedule = PeriodicWork()
    ran: dict[int, int] = {}
    for frame in range(2 * CYCLE + 2, 2 * CYCLE + 4 + PUT_OFF + 2):
        ran[frame] = schedule.due(frame, judged=True)
        schedule.waiting(learning=False)
    four = 2 * CYCLE + 4
    assert ran[2 * CYCLE + 2] == ran[2 * CYCLE + 3] == 0
    assert [f for f, work in ran.items() if work & ABSORB] == [four + PUT_OFF]
    assert ran[four + PUT_OFF] & RANGE  # (frame 5's, put off with it)


def test_after_a_reset_the_noise_waits_for_the_first_cycle_again() -> None:
    """reset() forgets the scene, the restless model's calm places with it: the noise is not
    measured until the young model has had its first cycle again, as at the start."""
    rng = np.random.default_rng(3)
    base = rng.integers(40, 200, (120, 160), dtype=np.uint8)
    detector = MotionDetector(MotionConfig(), (160, 120))
    measured: list[int] = []
    update = detector._noise.update

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        measured.append(detector._frames)
        return update(*args, **kwargs)

    detector._noise.update = counting  # type: ignore[method-assign]
    for i in range(3 * CYCLE):
        detector.process(base, i / 15)
    assert measured
    measured.clear()
    detector.reset()
    for i in range(3 * CYCLE, 3 * CYCLE + CYCLE + 1):
        detector.process(base, i / 15)
    assert measured == []
