"""The detector's periodic work: when it runs, and how long a judged light puts it off."""

from __future__ import annotations

import cv2
import numpy as np

from doorbell.config.motion import MotionConfig
from doorbell.motion.detector import MotionDetector
from doorbell.motion.schedule import ABSORB, CYCLE, NOISE, NOISE_PHASE, PUT_OFF, RANGE, PeriodicWork


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


def test_the_noise_due_on_a_busy_frame_waits_for_the_next_once() -> None:
    """The noise, which moves slowly, leaves a frame that turned out busy to the next frame; it
    runs there busy or not, and so once a judged light has put it off further: it never starves."""
    noise_frame = 2 * CYCLE + NOISE_PHASE
    schedule = PeriodicWork()
    assert schedule.due(noise_frame, judged=False) & NOISE
    assert schedule.busy(NOISE | RANGE) == RANGE
    assert schedule.busy(schedule.due(noise_frame + 1, judged=False)) & NOISE  # (busy too)
    assert not schedule.due(noise_frame + CYCLE - 1, judged=False) & NOISE  # (ran: not due)
    # moved, then put off by a judged frame: it runs where it is let go, busy or not
    noise_frame += CYCLE
    schedule.busy(schedule.due(noise_frame, judged=False))
    assert schedule.due(noise_frame + 1, judged=True) == 0
    schedule.waiting(learning=False)
    assert schedule.busy(schedule.due(noise_frame + 2, judged=False)) & NOISE
    # and the next time it is due on a busy frame, it waits again
    noise_frame += CYCLE
    assert not schedule.busy(schedule.due(noise_frame, judged=False)) & NOISE


def test_the_noise_is_not_measured_on_a_frame_that_checks_regions_for_ghosts() -> None:
    """Regions that stayed (a visitor standing at the door) are checked for ghosts on the range's
    frames, the noise's among them: the noise is measured on the next frame instead, and still
    once a cycle."""
    rng = np.random.default_rng(5)
    base = cv2.GaussianBlur(rng.integers(30, 220, (120, 160), dtype=np.uint8), (7, 7), 0)
    standing = base.copy()
    standing[30:100, 60:100] = rng.integers(0, 60, (70, 40), dtype=np.uint8)  # (a dark coat)
    detector = MotionDetector(MotionConfig(), (160, 120))
    on: dict[str, list[int]] = {"noise": [], "ghosts": []}
    update, check = detector._noise.update, detector._ghosts

    def measured(*args, **kwargs):  # type: ignore[no-untyped-def]
        on["noise"].append(detector._frames)
        return update(*args, **kwargs)

    def checked(*args, **kwargs):  # type: ignore[no-untyped-def]
        on["ghosts"].append(detector._frames)
        return check(*args, **kwargs)

    detector._noise.update = measured  # type: ignore[method-assign]
    detector._ghosts = checked  # type: ignore[method-assign]
    frames = 8 * CYCLE
    for i in range(frames):
        detector.process(base if i < 10 else standing, i / 15)
    assert len(on["ghosts"]) >= 8
    assert not set(on["noise"]) & set(on["ghosts"])
    assert len(on["noise"]) >= frames // CYCLE - 2


def test_the_noise_is_not_measured_on_a_frame_that_estimates_a_shake() -> None:
    """Each frame estimates the camera's shift (the suspicion forced: a camera shaken frame after
    frame, which the restless model would otherwise learn), so the noise due on one is measured on
    the next, where it stays (the restless thresholds due there wait: busy); once the camera is
    still, on its own frame again."""
    rng = np.random.default_rng(6)
    base = cv2.GaussianBlur(rng.integers(30, 220, (120, 160), dtype=np.uint8), (7, 7), 0)
    detector = MotionDetector(MotionConfig(), (160, 120))
    measured: list[int] = []
    shifts: list[int] = []
    update, shift = detector._noise.update, detector._shake.shift

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        measured.append(detector._frames)
        return update(*args, **kwargs)

    def estimating(*args, **kwargs):  # type: ignore[no-untyped-def]
        shifts.append(detector._frames)
        return shift(*args, **kwargs)

    deferred: list[int] = []
    thresholds = detector._restless.thresholds

    def asked(floor: float, defer: bool = False) -> np.ndarray | None:
        if defer:
            deferred.append(detector._frames)
        return thresholds(floor, defer)

    detector._restless.thresholds = asked  # type: ignore[method-assign]
    detector._noise.update = counting  # type: ignore[method-assign]
    detector._shake.shift = estimating  # type: ignore[method-assign]
    shaking = 6 * CYCLE
    detector._shake.suspected = lambda changed: detector._frames < shaking  # type: ignore[method-assign]
    for i in range(shaking + 4 * CYCLE):
        detector.process(noisy(base, rng), i / 15)
    during = [frame for frame in measured if frame < shaking]
    after = [frame for frame in measured if frame > shaking + 1]
    assert len(during) >= 3 and len(after) >= 3
    assert {frame % CYCLE for frame in during} == {NOISE_PHASE + 1}
    assert set(during) <= set(shifts)  # (busy there too: it stays)
    assert set(during) <= set(deferred)
    assert {frame % CYCLE for frame in after} == {NOISE_PHASE}


def noisy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(image + rng.normal(0, 2.0, image.shape), 0, 255).astype(np.uint8)
