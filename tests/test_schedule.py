"""The detector's periodic work: when it runs, and how long a judged light puts it off."""

from __future__ import annotations

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
