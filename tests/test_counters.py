"""One counters snapshot: gathered in `Device.counters()`, formatted by telemetry and the run
summary, field by field (a swapped or zeroed count fails here)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from doorbell.config import load_config
from doorbell.device.runtime.clock import Clock
from doorbell.device.runtime.counters import Counters
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.runtime.run_summary import RunSummary
from doorbell.device.runtime.startup import open_device
from doorbell.device.runtime.telemetry import Telemetry
from tests.support.uplink_helpers import event

# Every count different, so a count reported under another's name shows.
DISTINCT = Counters(
    frames=101,
    seconds_of_video=6.7,
    fps=14.5,
    dropped_camera=3,
    dropped_analysis=5,
    dropped_recording=7,
    queue_analysis=1,
    queue_recording=9,
    outbox_backlog=11,
    outbox_dropped=13,
    sent=17,
    events=19,
    clips=23,
    recording="disk_full",
    recording_failed="File too large",
    commands_dropped=29,
    commands_junk=31,
    broker_resets=43,
    dropped_classify=37,
    classified=41,
    classify_retried=47,
)


def test_telemetry_formats_every_counter_under_its_own_name(tmp_path: Path) -> None:
    telemetry = Telemetry.of(DISTINCT, "away", 12.34, tmp_path).model_dump()
    shared = {f.name for f in dataclasses.fields(Counters)} & set(telemetry)
    assert shared == {
        "frames",
        "fps",
        "dropped_camera",
        "dropped_analysis",
        "dropped_recording",
        "dropped_classify",
        "classified",
        "queue_analysis",
        "queue_recording",
        "outbox_backlog",
        "outbox_dropped",
        "events",
        "clips",
        "recording",
        "commands_dropped",
        "commands_junk",
        "broker_resets",
        "classify_retried",
    }
    for name in shared:
        assert telemetry[name] == getattr(DISTINCT, name), name
    assert (telemetry["mode"], telemetry["uptime_s"]) == ("away", 12.3)


def test_run_summary_formats_every_counter_under_its_own_name() -> None:
    summary = RunSummary.of(DISTINCT, 2.0, "mqtt://127.0.0.1:1883", False, 1_700_000_000.0)
    document = summary.to_json()
    shared = {f.name for f in dataclasses.fields(Counters)} & set(document)
    assert shared == {
        "frames",
        "seconds_of_video",
        "dropped_camera",
        "dropped_analysis",
        "dropped_recording",
        "outbox_backlog",
        "outbox_dropped",
        "events",
        "clips",
        "recording",
        "recording_failed",
        "dropped_classify",
        "classified",
    }
    for name in shared:
        assert document[name] == getattr(DISTINCT, name), name
    assert document["speed"] == 3.35  # 6.7 s of video in 2 s
    assert document["started_at"] == 1_700_000_000.0 and document["connected"] is False
    assert summary.line() == (
        "doorbell: 101 frames (6.7 s of video) in 2.0 s (3.4x real time); 19 events, 23 clips; "
        "dropped: 3 by camera, 5 by analysis, 7 by recording; outbox backlog 11; "
        "broker mqtt://127.0.0.1:1883 unreachable; recording failed: disk full (File too large)"
    )
    recorded = dataclasses.replace(DISTINCT, recording="ok", recording_failed=None)
    line = RunSummary.of(recorded, 2.0, "mqtt://127.0.0.1:1883", True, 0.0).line()
    assert line.endswith("broker mqtt://127.0.0.1:1883 connected"), line


def test_device_counters_read_each_count_from_its_own_place(tmp_path: Path) -> None:
    """A built device has every part before it runs, so its counters can be read (and set up)
    without threads: each is put to a different value where it is really kept."""
    config = load_config(
        sets=[
            f"device.data_dir={tmp_path / 'data'}",
            "mqtt.port=1",
            "mqtt.embedded=false",
            "uplink.outbox.max_messages=10",
        ],
        environ={},
    ).config
    device = open_device(config, RunOptions(echo=lambda line: None))
    try:
        for n in range(12):  # no broker: they wait in the outbox, which keeps the newest 10
            device.uplink.send_event(event(n))
        device.pipeline.stats.frames = 30
        device.source.stats.dropped = 3
        device.pipeline.analysis_q.dropped = 5
        device.pipeline.record_q.dropped = 7
        device.pipeline.record_q.put(device.source.read())  # type: ignore[arg-type]
        device.uplink.sender.acked = 4
        device.alerts.count, device.alerts.clips = 6, 1
        counters = device.counters()
    finally:
        device.source.close()
        device.uplink.outbox.close()
    assert counters.frames == 30 and counters.seconds_of_video == 30 / device.source.fps
    assert (counters.dropped_camera, counters.dropped_analysis, counters.dropped_recording) == (
        3,
        5,
        7,
    )
    assert (counters.queue_analysis, counters.queue_recording) == (0, 1)
    assert (counters.outbox_backlog, counters.outbox_dropped, counters.sent) == (10, 2, 4)
    assert (counters.events, counters.clips, counters.recording) == (6, 1, "ok")
    assert counters.recording_failed is None


def test_the_injected_clock_reaches_every_part_that_reads_the_time(tmp_path: Path) -> None:
    """A device on a clock of its own: what the recorder and the footage requests call "now" is
    that clock's, not the host's."""
    config = load_config(
        sets=[f"device.data_dir={tmp_path / 'data'}", "mqtt.port=1", "mqtt.embedded=false"],
        environ={},
    ).config
    far = 4_000_000_000.0  # 2096: no host clock says this today
    clock = Clock(monotonic=lambda: 12.5, wall=lambda: far)
    device = open_device(config, RunOptions(echo=lambda line: None, clock=clock))
    try:
        assert device.recorder.clock() == far
        assert device.footage.requests.clock() == far
        assert device.button.clock() == 12.5 and device.pipeline.clock() == 12.5
    finally:
        device.source.close()
        device.uplink.outbox.close()
