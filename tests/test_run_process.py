"""A real `doorbell run` process, a real mosquitto, a real subscriber, real H.264."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

import av

from tests.support.broker import MosquittoBroker, free_port
from tests.support.process import doorbell
from tests.support.subscriber import Subscriber

EVENT_FIELDS = {
    "id",
    "device",
    "type",
    "state",
    "start",
    "end",
    "score",
    "boxes",
    "zones",
    "clip",
    "label",
    "labels",
    "motion_event",
}


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
        "run",
        "--camera",
        "synthetic",
        "--speed",
        "max",
        "--duration",
        "60",
        "--broker",
        mosquitto.url,
        "--device-id",
        "e2e",
        "--data-dir",
        str(tmp_path / "data"),
    )
    assert proc.returncode == 0, proc.stderr
    assert sub.wait_for(lambda ms: any(m.payload == b"offline" for m in ms), timeout=10)

    status = [m.payload for m in sub.on(f"{base}/status")]
    assert status[0] == b"online" and status[-1] == b"offline"
    motion = [m.payload for m in sub.on(f"{base}/motion")]
    # OFF at start (nothing moves yet, whatever a crash left), then ON and OFF around an alert
    assert motion[0] == b"OFF" and b"ON" in motion, motion
    on = motion.index(b"ON")
    assert set(motion[:on]) == {b"OFF"} and motion[on + 1] == b"OFF", motion

    published = [json.loads(m.payload) for m in sub.on(f"{base}/event")]
    events = [e for e in published if e["type"] == "motion"]  # the porch's ring is checked apart
    assert {e["state"] for e in published if e["type"] == "ring"} == {"start", "end"}
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
        "run",
        "--speed",
        "max",
        "--duration",
        "45",
        "--broker",
        f"mqtt://127.0.0.1:{port}",
        "--data-dir",
        str(tmp_path / "data"),
    )
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


def test_summary_json_is_the_run_summary_of_the_run(tmp_path: Path) -> None:
    port = free_port()  # nothing listens: every alert stays in the outbox
    out = tmp_path / "summary.json"
    proc = doorbell(
        "run",
        "--speed",
        "max",
        "--duration",
        "30",
        "--broker",
        f"mqtt://127.0.0.1:{port}",
        "--data-dir",
        str(tmp_path / "data"),
        "--set",
        "camera.faults.drop_percent=10",
        "--summary-json",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(out.read_text())
    assert set(summary) == {
        "frames",
        "seconds_of_video",
        "wall_seconds",
        "events",
        "clips",
        "dropped_camera",
        "dropped_analysis",
        "dropped_recording",
        "outbox_backlog",
        "outbox_dropped",
        "broker",
        "connected",
        "started_at",
        "speed",
        "recording",
        "recording_failed",
        "dropped_classify",
        "classified",
    }
    # 30 s at 15 fps, a tenth of it lost by the camera and counted there
    assert summary["frames"] + summary["dropped_camera"] == 450
    assert 20 <= summary["dropped_camera"] <= 80
    assert summary["seconds_of_video"] == summary["frames"] / 15
    # at --speed max nothing is skipped: analysis and recording wait instead of dropping
    assert summary["dropped_analysis"] == summary["dropped_recording"] == 0
    assert summary["events"] >= 1 and summary["clips"] >= 1
    # each event is two messages (start, end), all still waiting for the broker; the porch's
    # visitor rings once (at 14 s), and a ring goes out on the `ring` topic as well
    assert summary["outbox_backlog"] == 2 * summary["events"] + 1
    assert summary["outbox_dropped"] == 0 and summary["connected"] is False
    assert summary["broker"] == f"mqtt://127.0.0.1:{port}"
    assert (summary["recording"], summary["recording_failed"]) == ("ok", None)
    assert "recording failed" not in proc.stdout
    assert summary["speed"] == round(summary["seconds_of_video"] / summary["wall_seconds"], 2)
    last = proc.stdout.splitlines()[-1]
    assert f"{summary['frames']} frames" in last and f"{summary['events']} events" in last
    assert f"outbox backlog {summary['outbox_backlog']}" in last
