"""What an open event keeps of its pictures: its peak, and its first frame only until the start
alert's snapshot is taken (issue 31: a whole picture each, for as long as the event lasts); of
the frames analysed, the one before is let go as the next is taken."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from doorbell.config import load_config
from doorbell.device.runtime.frame import Frame
from doorbell.device.runtime.pacing import Pacer
from doorbell.device.runtime.pipeline import Pipeline
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.runtime.startup import open_device
from doorbell.device.sources import open_source
from doorbell.motion.detector import MotionDetector
from doorbell.motion.events import EventTracker
from doorbell.motion.types import MotionResult


@pytest.mark.parametrize("snapshots", [True, False])
def test_an_open_event_lets_its_first_frame_go_once_the_start_snapshot_is_taken(
    tmp_path: Path, snapshots: bool
) -> None:
    """With snapshots, the start goes out before the recorder has indexed the event, and its
    snapshot follows; without, there is nothing to take it for once the start is out."""
    config = load_config(
        sets=[
            "camera.source=synthetic:walk_up_ring",
            "camera.speed=max",
            f"device.data_dir={tmp_path / 'data'}",
            "mqtt.port=1",
            "mqtt.embedded=false",
            "classify.enabled=false",
            f"modes.away.snapshots={str(snapshots).lower()}",
        ],
        environ={},
    ).config
    device = open_device(config, RunOptions(echo=lambda line: None, mode_from_flag=True))
    detector = MotionDetector(config.motion, device.source.lores_size)
    tracker = EventTracker(config.motion)
    device.recorder.start()  # its folders, as `run` makes them
    device.source.open()
    try:
        active = None
        while active is None or active.peak.seq == active.event.start_seq:
            frame = device.source.read()  # the analysis thread's work, on this thread
            assert frame is not None, "the visitor made no event"
            device.reactions.took(frame)
            result = detector.process(frame.lores, frame.t)
            device.reactions.on_analysed(tracker.update(result, frame.seq), result, frame)
            active = next(iter(device.reactions._active.values()), None)
        assert active.announced
        assert active.first is None  # the peak is a later frame: the first one is let go
        event = device.recorder.index.get_event(active.alert_id)
        assert event is not None and bool(event.snapshot) == snapshots
    finally:
        device.source.close()
        device.recorder.close()
        device.uplink.outbox.close()


class HeldPictures:
    """Wraps the device's detector: for each frame analysed, whether the picture of the frame
    analysed before it is still held by anyone (a weak reference to it, taken at capture)."""

    def __init__(self, detector: MotionDetector, source: Any) -> None:
        self.detector = detector
        self.pictures: dict[float, weakref.ref[np.ndarray]] = {}
        self.held: list[float] = []  # frame times at which the one before was still held
        self.latest_seen: list[tuple[float, float | None]] = []  # (t, the device's latest t)
        self.latest: Callable[[], Frame | None] = lambda: None
        self.wait_seconds = 2.0  # 0: only `latest_seen` is kept
        read = source.read

        def reading() -> Frame | None:
            frame: Frame | None = read()
            if frame is not None:
                self.pictures[frame.t] = weakref.ref(frame.main)
            return frame

        source.read = reading

    def process(self, luma: np.ndarray, t: float) -> MotionResult:
        latest = self.latest()
        self.latest_seen.append((t, None if latest is None else latest.t))
        before = [seen for seen in self.pictures if seen < t]
        if before and self.wait_seconds:
            # Frames are freed by reference counting; the recording thread may still be on it.
            picture = self.pictures[max(before)]
            deadline = time.monotonic() + self.wait_seconds
            while picture() is not None and time.monotonic() < deadline:
                time.sleep(0.001)
            if picture() is not None:
                self.held.append(t)
        return self.detector.process(luma, t)


def test_the_frame_analysed_before_is_let_go_as_the_next_is_taken() -> None:
    # Issue 31: while the detector works on a frame, the one before it is held by nobody (it
    # was: the pipeline's last frame and the snapshot's latest), a whole picture less.
    config = load_config(environ={}).config
    source = open_source(config.camera)
    source.open()
    held = HeldPictures(MotionDetector(config.motion, source.lores_size), source)
    latest: list[Frame | None] = [None]

    def keep(frame: Frame, *_: object) -> None:  # as Reactions keeps the latest for snapshots
        latest[0] = frame

    pipeline = Pipeline(
        source,
        held,  # type: ignore[arg-type]
        EventTracker(config.motion),
        Pacer("max"),
        lambda updates, result, frame: keep(frame),
        lambda frame: None,
        analysis_queue=2,
        record_queue=4,
        duration=1.0,
        lossless=True,
        on_taken=keep,
    )
    pipeline.start()
    assert pipeline.join(60)
    assert pipeline.stats.analysed == 15
    assert held.held == []


def test_a_snapshot_asked_during_analysis_shows_the_frame_being_analysed(tmp_path: Path) -> None:
    config = load_config(
        sets=[
            f"device.data_dir={tmp_path / 'data'}",
            "mqtt.port=1",
            "mqtt.embedded=false",
            "camera.speed=max",  # every frame analysed, none skipped by a busy machine
        ],
        environ={},
    ).config
    device = open_device(config, RunOptions(duration=1.0, echo=lambda line: None))
    held = HeldPictures(device.pipeline.detector, device.source)
    held.latest = lambda: device.reactions.last_frame
    held.wait_seconds = 0.0  # an open event holds its own pictures
    device.pipeline.detector = held  # type: ignore[assignment]
    device.run()
    assert len(held.latest_seen) == 15
    assert all(t == latest for t, latest in held.latest_seen), held.latest_seen
