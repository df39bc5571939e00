"""The classifier in the device: its stage (bounded, counts drops, never waits), the start alert
held for the first label at most `classify.max_wait_ms` of frame time, the end with the final
label, the mode's `alert_labels`, and a device without the model. Real footage (the highway clip
in tests/data), the real model, real Alerts, recorder and outbox; mosquitto for the end to end.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from doorbell.config import load_config
from doorbell.device.classify.labels import FrameLabels
from doorbell.device.classify.model_file import default_model
from doorbell.device.runtime.classify_stage import NICE, ClassifyJob, ClassifyStage, due
from doorbell.device.runtime.device import Device
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.runtime.run_summary import RunSummary
from doorbell.device.runtime.startup import open_device
from doorbell.device.storage.index import EventIndex
from doorbell.device.web.event_feed import event_json
from doorbell.motion.detector import MotionDetector
from doorbell.motion.events import EventTracker
from doorbell.uplink.messages import EventMessage
from tests.support.broker import MosquittoBroker
from tests.support.subscriber import Subscriber

DATA = Path(__file__).parent / "data"
HIGHWAY = f"file:{DATA / 'highway-overlay.avi'}"  # cars from its first seconds


@pytest.fixture(autouse=True)
def model_installed() -> None:
    if not default_model().is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the classifier's model is missing on CI ({default_model()})")
        pytest.skip(
            f"the classifier's model is not installed ({default_model()}): ./dev.sh install"
        )


def offline_device(tmp_path: Path, *sets: str) -> Device:
    config = load_config(
        sets=[
            "device.id=cl",
            f"device.data_dir={tmp_path / 'data'}",
            "mqtt.port=1",
            "mqtt.embedded=false",
            f"camera.source={HIGHWAY}",
            *sets,
        ],
        environ={},
    ).config
    return open_device(config, RunOptions(echo=lambda line: None, mode_from_flag=True))


def drive(device: Device, frames: int, end: bool = True) -> None:
    """What the pipeline's analysis thread does, frame by frame, on this thread; with `end`,
    the stream ends there (open events end)."""
    detector = MotionDetector(device.config.motion, device.source.lores_size)
    tracker = EventTracker(device.config.motion)
    for _ in range(frames):
        frame = device.source.read()
        assert frame is not None
        device.reactions.took(frame)
        result = detector.process(frame.lores, frame.t)
        device.reactions.on_analysed(tracker.update(result, frame.seq), result, frame)
    if end:
        device.reactions.on_analysed(tracker.flush(), result, frame)


def test_the_schedule_is_the_first_frame_new_peaks_and_every_few_seconds() -> None:
    assert due(None, 5.0, False, 3.0)  # the first frame after the start
    assert not due(5.0, 5.5, True, 3.0)  # a new peak, but too soon after the last
    assert due(5.0, 6.0, True, 3.0)
    assert not due(5.0, 7.9, False, 3.0)
    assert due(5.0, 8.0, False, 3.0)


def test_a_full_queue_drops_the_oldest_and_never_waits(tmp_path: Path) -> None:
    device = offline_device(tmp_path, "classify.queue=2", "camera.speed=1")
    try:
        stage = device.reactions.classifier
        assert isinstance(stage, ClassifyStage) and not stage.inline
        got: list[int] = []
        nice: list[int] = []

        def on_labels(job: ClassifyJob, labels: FrameLabels) -> None:
            got.append(labels.seq)
            nice.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

        stage.on_labels = on_labels
        frames = [device.source.read() for _ in range(5)]
        for frame in frames:  # the thread is not running: a classifier far behind
            assert frame is not None
            stage.submit(ClassifyJob("a", frame, ()))
        assert stage.dropped == 3 and device.counters().dropped_classify == 3
        stage.start()
        stage.stop(30)
        assert got == [frames[3].seq, frames[4].seq]  # type: ignore[union-attr]
        assert device.counters().classified == 2
        # the classifier's thread gives way to the camera, analysis and recording threads
        assert nice == [NICE, NICE] and os.getpriority(os.PRIO_PROCESS, 0) < NICE
    finally:
        device.source.close()
        device.uplink.outbox.close()


def test_a_frame_that_fails_is_logged_and_the_next_one_classified(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    device = offline_device(tmp_path, "camera.speed=1")
    try:
        stage = device.reactions.classifier
        assert stage is not None
        done = threading.Event()
        stage.on_labels = lambda job, labels: done.set()
        good = device.source.read()
        assert good is not None
        broken = dataclasses.replace(good, seq=-1, main=np.zeros(7, np.uint8))  # not a picture
        stage.start()
        stage.submit(ClassifyJob("a", broken, ()))
        stage.submit(ClassifyJob("a", good, ()))
        assert done.wait(30)
        stage.stop(30)
        assert stage.classified == 1
        assert "classifying frame -1 failed" in caplog.text
    finally:
        device.source.close()
        device.uplink.outbox.close()


def test_a_start_waits_at_most_max_wait_then_the_end_has_the_final_label(tmp_path: Path) -> None:
    device = offline_device(tmp_path, "camera.speed=1", "classify.max_wait_ms=800")
    sent: list[EventMessage] = []
    sent_at: list[float] = []  # the wall time of the frame being analysed as each one went out

    def publish(message: EventMessage) -> None:
        sent.append(message)
        sent_at.append(device.reactions.last_frame.wall)  # type: ignore[union-attr]

    device.alerts.publish = publish
    stage = device.reactions.classifier
    assert stage is not None  # not started: no label comes back until it is drained below
    try:
        drive(device, 60)  # 2.4 s of the clip at 25 fps: an event starts at once
        [start] = sent
        assert start.state == "start" and start.label == "unknown" and start.labels == {}
        # The start went out on the first frame at or past 0.8 s after the event's first.
        waited = sent_at[0] - datetime.fromisoformat(start.start).timestamp()
        assert 0.8 - 1e-3 <= waited < 0.8 + 1 / device.source.fps, waited
        assert len(stage.jobs) >= 1
        while (job := stage.jobs.get(timeout=0)) is not None:  # the classifier catches up
            stage._run(job)
        device.reactions.settle()
        device.alerts.flush()
        end = sent[-1]
        assert end.state == "end" and end.label == "vehicle", end
        assert end.labels["vehicle"] >= 0.5
    finally:
        device.source.close()
        device.uplink.outbox.close()


def test_a_classifier_in_time_puts_the_label_in_the_start(tmp_path: Path) -> None:
    device = offline_device(tmp_path, "camera.speed=max")  # inline: each job done at once
    sent: list[EventMessage] = []
    device.alerts.publish = sent.append
    try:
        drive(device, 60)
        start = sent[0]
        assert start.label == "vehicle" and start.labels["vehicle"] >= 0.5, start
    finally:
        device.source.close()
        device.uplink.outbox.close()


def test_the_snapshot_is_the_frame_that_shows_the_label_best(tmp_path: Path) -> None:
    device = offline_device(tmp_path, "camera.speed=max", "classify.every_seconds=0.5")
    try:
        drive(device, 150, end=False)  # 6 s: an event still open, several frames classified
        [active] = device.reactions._active.values()
        classified = device.alerts._open[active.alert_id].frames
        assert len(classified) >= 3
        best = max(classified, key=lambda f: f.scores["vehicle"])
        assert active.picture("vehicle", active.peak).seq == best.seq
    finally:
        device.source.close()
        device.uplink.outbox.close()


def test_what_a_privacy_mask_hides_is_hidden_from_the_classifier_too(tmp_path: Path) -> None:
    whole = '[{"name": "all", "points": [[0, 0], [1, 0], [1, 1], [0, 1]]}]'
    device = offline_device(tmp_path, "camera.speed=max", f"privacy.masks={whole}")
    sent: list[EventMessage] = []
    device.alerts.publish = sent.append
    try:
        drive(device, 60)
        assert sent[0].label == "unknown" and sent[0].labels["vehicle"] < 0.5, sent[0]
        assert device.counters().classified >= 1
    finally:
        device.source.close()
        device.uplink.outbox.close()


def run_highway(
    tmp_path: Path, mosquitto: MosquittoBroker, *sets: str
) -> tuple[RunSummary, Device]:
    """A device run over the whole real highway clip as device `cl`, with `sets` on top. The
    whole clip (30 s, a few at --speed max): a run of 1 s may end before it connects."""
    config = load_config(
        sets=[
            "device.id=cl",
            f"device.data_dir={tmp_path / 'data'}",
            f"mqtt.port={mosquitto.port}",
            "mqtt.embedded=false",
            f"camera.source={HIGHWAY}",
            "camera.speed=max",
            *sets,
        ],
        environ={},
    ).config
    device = open_device(config, RunOptions(echo=lambda line: None, mode_from_flag=True))
    return device.run(), device


def test_a_mode_that_alerts_on_persons_only_keeps_cars_quiet_but_records_them(
    mosquitto: MosquittoBroker, subscribe: object, tmp_path: Path
) -> None:
    sub: Subscriber = subscribe("doorbell/cl/#")  # type: ignore[operator]
    summary, device = run_highway(tmp_path, mosquitto, 'modes.away.alert_labels=["person"]')
    assert sub.wait_for(lambda ms: any(m.payload == b"offline" for m in ms), timeout=10)
    assert sub.on("doorbell/cl/event") == []
    assert b"ON" not in [m.payload for m in sub.on("doorbell/cl/motion")]
    assert summary.events == 0 and device.counters().classified >= 1
    assert len(EventIndex(tmp_path / "data" / "index.sqlite").clips()) == 1  # still recorded


def test_the_alerts_of_a_device_carry_the_label(
    mosquitto: MosquittoBroker, subscribe: object, tmp_path: Path
) -> None:
    sub: Subscriber = subscribe("doorbell/cl/#")  # type: ignore[operator]
    summary, _ = run_highway(tmp_path, mosquitto)
    assert sub.wait_for(lambda ms: any(m.payload == b"offline" for m in ms), timeout=10), (
        summary,
        [(m.topic, m.payload[:40]) for m in sub.messages],
    )
    events = [json.loads(m.payload) for m in sub.on("doorbell/cl/event")]
    assert [e["state"] for e in events] == ["start", "end"]
    assert all(e["label"] == "vehicle" and e["labels"]["vehicle"] >= 0.5 for e in events), events
    assert set(events[1]["labels"]) == {"person", "vehicle", "animal", "package"}
    [row] = EventIndex(tmp_path / "data" / "index.sqlite").latest_events(10)
    assert row.label == "vehicle"  # what the page's events list shows
    assert row.thumbnail  # the start's snapshot is in the index (saved after its row exists)
    assert event_json(row)["label"] == "vehicle"
    # Home Assistant's sensor per label: vehicle ON while the event was open, OFF after it; the
    # others never ON. (The clip's event starts in its first frames, often before the device has
    # connected: the states queued meanwhile and the retained ones sent again at connect may
    # arrive in either order, so only ON, then OFF at the end, is certain.)
    states = [m.payload for m in sub.on("doorbell/cl/motion/vehicle")]
    assert b"ON" in states and states[-1] == b"OFF", states
    assert b"ON" not in [m.payload for m in sub.on("doorbell/cl/motion/person")]


def test_without_the_model_alerts_go_out_at_once_labelled_unknown(tmp_path: Path) -> None:
    device = offline_device(tmp_path, "camera.speed=1", f"classify.model={tmp_path / 'none'}")
    sent: list[EventMessage] = []
    device.alerts.publish = sent.append
    try:
        assert device.reactions.classifier is None
        drive(device, 60)
        start = sent[0]
        assert start.label == "unknown" and start.labels == {}
        [row] = device.recorder.index.latest_events(10)
        assert row.label == "unknown"
    finally:
        device.source.close()
        device.uplink.outbox.close()


def test_an_index_from_before_labels_gets_the_column_and_its_events_are_unknown(
    tmp_path: Path,
) -> None:
    import sqlite3

    path = tmp_path / "index.sqlite"
    old = sqlite3.connect(path)  # the events table as it was before labels
    old.execute(
        "CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT NOT NULL, start_wall REAL NOT NULL,"
        " end_wall REAL, score REAL NOT NULL DEFAULT 0, zones TEXT NOT NULL DEFAULT '[]',"
        " clip_id TEXT, snapshot TEXT, thumbnail TEXT)"
    )
    old.execute("INSERT INTO events (id, type, start_wall) VALUES ('e1', 'motion', 1.0)")
    old.commit()
    old.close()
    index = EventIndex(path)
    try:
        assert [r.label for r in index.latest_events(10)] == ["unknown"]
        index.set_label("e1", "person")
        assert index.get_event("e1").label == "person"  # type: ignore[union-attr]
    finally:
        index.close()
