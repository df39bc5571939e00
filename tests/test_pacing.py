"""Pacing a file or generator to real time, on an injected clock: frames are shown at the time
their own clock says, counted from the moment the source's start was pinned."""

from __future__ import annotations

import threading

import pytest

from doorbell.config import load_config
from doorbell.device.runtime.frame import Frame
from doorbell.device.runtime.pacing import Pacer
from doorbell.device.runtime.pipeline import Pipeline
from doorbell.device.sources import open_source
from doorbell.device.sources.base import Source
from doorbell.motion.detector import MotionDetector
from doorbell.motion.events import EventTracker


class FakeClock:
    """A monotonic clock that moves only when told to, or by the pacer's sleep."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class SlowFirstFrame(Source):
    """The real synthetic source, whose first frame takes `seconds` of the fake clock to read:
    a frame rendered while the rest of the device starts up."""

    def __init__(self, inner: Source, clock: FakeClock, seconds: float) -> None:
        super().__init__()
        self.inner, self.clock, self.seconds = inner, clock, seconds
        self.lores_size = inner.lores_size

    def open(self) -> None:
        self.inner.open()

    def read(self) -> Frame | None:
        frame = self.inner.read()
        if frame is not None and frame.seq == 0:
            self.clock.now += self.seconds
        return frame

    def close(self) -> None:
        self.inner.close()


def test_frames_are_due_from_the_start_not_from_a_late_first_frame() -> None:
    clock = FakeClock(100.0)
    pacer = Pacer(1, clock=clock, sleep=clock.sleep)
    pacer.start()
    clock.now = 100.050  # the first frame took 50 ms to read (rendering, start-up)
    pacer.wait(0.0)
    assert clock.slept == []  # already late: shown at once
    pacer.wait(0.1)  # due at 100.1, not at 100.15
    assert clock.now == pytest.approx(100.1)
    clock.now = 100.25  # a slow frame: shown late, without delaying the schedule after it
    pacer.wait(0.2)
    pacer.wait(0.3)
    assert clock.now == pytest.approx(100.3)


def test_a_pipeline_shows_frames_on_the_schedule_it_started_with() -> None:
    """Real threads, a real synthetic source; the pacer's clock is the only fake. The first
    frame is read 50 ms late; the last of 6 frames is still shown at 5/15 s after the start.
    Its end is told once, by the last thread to finish (the device's main loop waits on it)."""
    config = load_config(environ={}).config
    ends: list[str] = []
    clock = FakeClock(100.0)
    source = SlowFirstFrame(open_source(config.camera), clock, 0.05)
    source.open()
    pipeline = Pipeline(
        source,
        MotionDetector(config.motion, source.lores_size),
        EventTracker(config.motion),
        Pacer(1, clock=clock, sleep=clock.sleep),
        lambda updates, result, frame: None,
        lambda frame: None,
        analysis_queue=2,
        record_queue=2,
        duration=6 / 15 - 0.001,
        on_end=lambda: ends.append(threading.current_thread().name),
    )
    pipeline.start()
    assert pipeline.join(60)
    source.close()
    assert pipeline.stats.frames == 6
    assert len(ends) == 1
    assert clock.now == pytest.approx(100.0 + 5 / 15)


def test_speed_divides_frame_time() -> None:
    clock = FakeClock(0.0)
    pacer = Pacer(2, clock=clock, sleep=clock.sleep)
    pacer.start()
    pacer.wait(1.0)
    assert clock.now == pytest.approx(0.5)


def test_without_a_start_the_first_frame_pins_the_schedule() -> None:
    clock = FakeClock(10.0)
    pacer = Pacer(1, clock=clock, sleep=clock.sleep)
    pacer.wait(5.0)  # a stream that begins at frame time 5
    assert clock.slept == []
    pacer.wait(5.5)
    assert clock.now == pytest.approx(10.5)


def test_max_never_sleeps() -> None:
    clock = FakeClock(0.0)
    pacer = Pacer("max", clock=clock, sleep=clock.sleep)
    pacer.start()
    for t in (0.0, 1.0, 100.0):
        pacer.wait(t)
    assert clock.slept == []
