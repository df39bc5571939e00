"""What an open event keeps of its pictures: its peak, and its first frame only until the start
alert's snapshot is taken (issue 31: a whole picture each, for as long as the event lasts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from doorbell.config import load_config
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.runtime.startup import open_device
from doorbell.motion.detector import MotionDetector
from doorbell.motion.events import EventTracker


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
