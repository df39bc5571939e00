"""`doorbell erase`: nothing of the user is left on the device or retained on the broker."""

from __future__ import annotations

import socket
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from click.testing import CliRunner

from doorbell.config import DoorbellConfig
from doorbell.device.cli import cli
from doorbell.device.storage.index import EventIndex
from doorbell.uplink.outbox import Outbox
from doorbell.uplink.requests import FootageRequests
from doorbell.uplink.requests.audit import AuditLog
from tests.support.broker import MosquittoBroker
from tests.support.footage import T0, ListIndex, Signer, make_clip, request_body

DEVICE = "porch"
RETAINED = {
    f"doorbell/{DEVICE}/status": b"online",
    f"doorbell/{DEVICE}/motion": b"OFF",
    f"doorbell/{DEVICE}/mode": b"away",
    f"doorbell/{DEVICE}/snapshot": b"\xff\xd8 a jpeg of the visitor",
    f"doorbell/{DEVICE}/telemetry": b'{"uptime": 5}',  # not normally retained: found anyway
    f"homeassistant/device/{DEVICE}/config": b'{"dev": {"ids": ["porch"]}}',
}
NEIGHBOUR = {"doorbell/next-door/status": b"online"}


def publish_retained(port: int, messages: dict[str, bytes]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for topic, payload in messages.items():
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def retained_now(port: int, topics: list[str]) -> dict[str, bytes]:
    """What the broker keeps retained on `topics` now. The broker sends retained messages as it
    handles the SUBSCRIBE, before a message this client publishes afterwards: once that marker
    is back, every retained one has arrived."""
    got: dict[str, bytes] = {}
    marker = f"test/marker/{uuid.uuid4().hex}"
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

    def on_message(c: Any, u: Any, m: mqtt.MQTTMessage) -> None:
        if m.topic == marker:
            done.set()
        elif m.retain:
            got[m.topic] = bytes(m.payload)

    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.subscribe([(t, 1) for t in [*topics, marker]])
    client.publish(marker, b"end", qos=1)
    assert done.wait(10), "the broker did not echo the marker"
    client.disconnect()
    client.loop_stop()
    return got


def fill_device(data_dir: Path) -> None:
    """Real clips and snapshots, a request queue, an audit log, and databases with rows."""
    clips = [make_clip(data_dir, f"c-{i}", T0 - 3000 + i * 100) for i in range(3)]
    (data_dir / "snapshots" / "thumb-c-0.jpg").write_bytes(b"thumb")
    (data_dir / "mode.json").write_text('{"mode": "home"}')
    requester = Signer()
    config = DoorbellConfig.model_validate(
        {
            "device": {"id": DEVICE},
            "requests": {"trusted_keys": [requester.public], "allow_insecure_upload": True},
        }
    )
    core = FootageRequests(config, data_dir, ListIndex(clips), clock=lambda: T0)
    body = request_body(
        "req-1", T0 - 3600, T0 - 600, T0 + 3600, "http://127.0.0.1:9/{name}", audience=DEVICE
    )
    assert core.handle_request(requester.sign(body)).decision == "pending_review"
    core.close()
    assert AuditLog.in_dir(data_dir).verify().entries >= 2
    # The device's own index and outbox, as a running device leaves them.
    index = EventIndex(data_dir / "index.sqlite")
    for clip in clips:
        index.add_event(clip.event_id, "motion", clip.start_wall)
        index.add_clip(clip.id, [clip.event_id], clip.file, clip.start_wall)
        index.finish_clip(
            clip.id, clip.file, clip.end_wall, clip.seconds, 10, clip.bytes, clip.sha256
        )
    index.close()
    outbox = Outbox(data_dir / "outbox.sqlite")
    outbox.add(f"doorbell/{DEVICE}/event", b"{}")
    outbox.close()


def rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert tables, f"{path.name} lost its schema"
        return sum(db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables)


def erase(data_dir: Path, broker: str, *extra: str, input: str | None = None) -> Any:
    args = ["erase", "--broker", broker, "--device-id", DEVICE, "--data-dir", str(data_dir)]
    return CliRunner().invoke(cli, [*args, *extra], input=input)


def test_erase_leaves_only_empty_schemas_and_no_retained_topics(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    data_dir = tmp_path / "data"
    fill_device(data_dir)
    publish_retained(mosquitto.port, {**RETAINED, **NEIGHBOUR})
    everything = [*RETAINED, *NEIGHBOUR]
    assert retained_now(mosquitto.port, everything) == {**RETAINED, **NEIGHBOUR}

    result = erase(data_dir, mosquitto.url, "--yes")
    assert result.exit_code == 0, result.output
    assert "deleted 3 file(s) in clips/" in result.output
    assert "deleted 1 row(s) from requests.sqlite:requests" in result.output
    assert "deleted 1 row(s) from outbox.sqlite:outbox" in result.output
    assert f"cleared retained topic homeassistant/device/{DEVICE}/config" in result.output

    left = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*"))
    # The digests of requests already taken stay: they hold nothing of the owner's, and a
    # request captured before the erase must not be answered with footage recorded after it.
    kept = ["replay-guard.sqlite"]
    assert left == sorted(["index.sqlite", "outbox.sqlite", "requests.sqlite", *kept]), left
    assert all(rows(data_dir / name) == 0 for name in left if name not in kept)
    assert retained_now(mosquitto.port, everything) == NEIGHBOUR  # the neighbour's stays


def test_erase_asks_first_and_no_keeps_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fill_device(data_dir)
    before = sorted(data_dir.rglob("*"))
    result = erase(data_dir, "mqtt://127.0.0.1:9", input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    assert sorted(data_dir.rglob("*")) == before


def test_erase_refuses_while_the_device_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "mode.json").write_text("{}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(data_dir / "control.sock"))
    listener.listen(1)
    try:
        result = erase(data_dir, "mqtt://127.0.0.1:9", "--yes")
    finally:
        listener.close()
    assert result.exit_code == 2 and "running" in result.output
    assert (data_dir / "mode.json").exists()


def test_unreachable_broker_still_erases_locally_and_says_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fill_device(data_dir)
    result = erase(data_dir, "mqtt://127.0.0.1:9", "--yes")
    assert result.exit_code == 1 and "could not clear the broker" in result.output
    assert not (data_dir / "clips").exists() and rows(data_dir / "requests.sqlite") == 0


def test_erase_removes_links_and_never_touches_what_they_point_at(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fill_device(data_dir)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "photo.jpg").write_bytes(b"not the device's")
    theirs = outside / "theirs.sqlite"
    with sqlite3.connect(theirs) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
    db.close()
    (data_dir / "stolen.sqlite").symlink_to(theirs)
    (data_dir / "stolen.sqlite-wal").write_bytes(b"")  # a companion of the link: goes with it
    (data_dir / "clips" / "photo.jpg").symlink_to(outside / "photo.jpg")
    (data_dir / "snapshots" / "album").symlink_to(outside, target_is_directory=True)
    (data_dir / "library").symlink_to(outside, target_is_directory=True)
    result = erase(data_dir, "mqtt://127.0.0.1:9", "--yes", "--local-only")
    assert result.exit_code == 0, result.output
    left = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.iterdir())
    assert left == ["index.sqlite", "outbox.sqlite", "replay-guard.sqlite", "requests.sqlite"]
    assert rows(theirs) == 1  # the link's target was neither emptied nor deleted
    assert sorted(p.name for p in outside.iterdir()) == ["photo.jpg", "theirs.sqlite"]
    assert (outside / "photo.jpg").read_bytes() == b"not the device's"


def test_a_request_replayed_after_erase_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    requester = Signer()
    config = DoorbellConfig.model_validate(
        {
            "device": {"id": DEVICE},
            "requests": {"trusted_keys": [requester.public], "allow_insecure_upload": True},
        }
    )
    body = requester.sign(
        request_body(
            "req-1", T0 - 3600, T0 - 600, T0 + 3600, "http://127.0.0.1:9/{name}", audience=DEVICE
        )
    )
    core = FootageRequests(config, data_dir, ListIndex([]), clock=lambda: T0)
    assert core.handle_request(body).decision == "pending_review"
    core.close()
    assert erase(data_dir, "mqtt://127.0.0.1:9", "--yes", "--local-only").exit_code == 0
    core = FootageRequests(config, data_dir, ListIndex([]), clock=lambda: T0 + 60)
    reply = core.handle_request(body)
    core.close()
    assert reply.decision == "refused" and reply.error is not None and "replayed" in reply.error
