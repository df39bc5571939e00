"""End to end: a real `doorbell run` process, a real mosquitto, a real subscriber, real H.264."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

import av

from tests.support.broker import MosquittoBroker, free_port
from tests.support.process import doorbell
from tests.support.subscriber import Subscriber

EVENT_FIELDS = {"id", "device", "type", "state", "start", "end", "score", "boxes", "zones", "clip"}


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        return sum(1 for _ in container.decode(video=0))


def parse_time(text: str) -> datetime:
    assert text.endswith("Z")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_run_publishes_alerts_and_writes_clips(
    mosquitto: MosquittoBroker, subscribe: object, tmp_path: Path
) -> None:
    base = "doorbell/e2e"
    sub: Subscriber = subscribe(f"{base}/#")  # type: ignore[operator]
    proc = doorbell(
        "run", "--camera", "synthetic", "--speed", "max", "--duration", "60",
        "--broker", mosquitto.url, "--device-id", "e2e", "--data-dir", str(tmp_path / "data"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sub.wait_for(lambda ms: any(m.payload == b"offline" for m in ms), timeout=10)

    status = [m.payload for m in sub.on(f"{base}/status")]
    assert status[0] == b"online" and status[-1] == b"offline"
    motion = [m.payload for m in sub.on(f"{base}/motion")]
    assert motion[:2] == [b"ON", b"OFF"], motion

    events = [json.loads(m.payload) for m in sub.on(f"{base}/event")]
    starts = [e for e in events if e["state"] == "start"]
    ends = [e for e in events if e["state"] == "end"]
    assert starts, proc.stdout
    for event in events:
        assert set(event) == EVENT_FIELDS
        uuid.UUID(event["id"])
        assert event["device"] == "e2e" and event["type"] == "motion"
        assert event["score"] > 0 and isinstance(event["boxes"], list)
    assert {e["id"] for e in ends} == {e["id"] for e in starts}
    # Each alert line printed while running names its event.
    for event in starts:
        assert event["id"] in proc.stdout
        assert event["end"] is None and event["clip"] is None
    for event in ends:
        assert parse_time(event["end"]) > parse_time(event["start"])
        clip = event["clip"]
        path = tmp_path / "data" / clip["file"]
        assert path.is_file() and path.stat().st_size == clip["bytes"]
        frames = decoded_frames(path)
        assert abs(frames - round(clip["seconds"] * 15)) <= 1, (frames, clip)
        # pre-roll + the visit + post-roll: several seconds, not a fragment
        assert clip["seconds"] >= 8
    assert "events" in proc.stdout.splitlines()[-1]


def test_run_without_broker_keeps_running_and_records(tmp_path: Path) -> None:
    port = free_port()  # nothing listens here
    proc = doorbell(
        "run", "--speed", "max", "--duration", "45", "--broker", f"mqtt://127.0.0.1:{port}",
        "--data-dir", str(tmp_path / "data"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "unreachable" in proc.stderr
    assert "Traceback" not in proc.stderr
    clips = sorted((tmp_path / "data" / "clips").glob("*.mp4"))
    assert clips, proc.stdout
    assert all(decoded_frames(c) > 15 for c in clips)
    assert "unreachable" in proc.stdout.splitlines()[-1]


def test_plain_mqtt_to_remote_host_is_refused(tmp_path: Path) -> None:
    proc = doorbell("run", "--broker", "mqtt://192.0.2.1:1883", "--data-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "uplink.allow_insecure" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_camera_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = doorbell("run", "--camera", "webcam", "--data-dir", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "allowed:" in proc.stderr
