"""What goes, goes whole: a clip deleted by retention or by `doorbell clips delete` takes its
events' rows, snapshots and thumbnails and any copy waiting to be shared; snapshots are
ciphertext at rest too; a share that cannot go on leaves nothing behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pyrage import decrypt, x25519

from doorbell.config.camera import CameraConfig
from doorbell.config.data_dir import DataDir
from doorbell.config.privacy import PrivacyConfig
from doorbell.config.record import RecordConfig, StorageConfig
from doorbell.device.recording.clip import ClipInfo
from doorbell.device.recording.recorder import Recorder
from doorbell.device.sources import open_source
from doorbell.device.storage.index import EventIndex
from doorbell.device.storage.retention import Retention
from doorbell.uplink.requests import FootageRequests
from tests.support.footage import T0, Device, PutServer
from tests.support.process import doorbell

FPS = 15.0
DAY = 86400.0


def record(data: Path, events: dict[str, tuple[float, float]], privacy: PrivacyConfig) -> None:
    """Walk-up footage through a Recorder, wall time = T0 - 3000 + frame time, with a stored
    snapshot a second into each event; `events` maps id -> (start, end) in frame time, and an id
    starting with "still-" is a snapshot without a clip (recording off for it)."""
    source = open_source(
        CameraConfig(source="synthetic:walk_up_ring", width=320, height=240, loop=True)
    )
    source.open()
    clips: list[ClipInfo] = []
    recorder = Recorder(
        RecordConfig(post_seconds=1.0),
        StorageConfig(),
        privacy,
        data,
        FPS,
        (320, 240),
        clips.append,
        clock=lambda: T0,
    )
    recorder.start()
    base = T0 - 3000
    end = max(e for _, e in events.values()) + 3.0
    while (frame := source.read()) is not None and frame.t < end:
        recorder.push(frame)
        for event_id, (start, stop) in events.items():
            if frame.t == start:
                if event_id.startswith("still-"):
                    recorder.index.add_event(event_id, "ring", base + frame.t)
                else:
                    recorder.event_started(event_id, "motion", frame.t, base + frame.t)
            if frame.t == start + 1.0:
                recorder.save_snapshot(event_id, frame.main)
            if frame.t == stop:
                recorder.event_ended(event_id, frame.t, base + frame.t, 2.0, [])
    recorder.close()
    source.close()


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def failed_share(
    data: Path, index: EventIndex, status: int, request_id: str = "req-1"
) -> FootageRequests:
    """A bundle share of the window around the recording whose upload fails (cut mid-body, or
    refused for good with `status`)."""
    device = Device(data, [], {}, policy="share_all", upload_attempts=1)
    device.core.close()
    requests = FootageRequests(device.config, data, index, clock=device.clock)
    server = PutServer(fail_first=1 if status == 200 else 0, status=status)
    try:
        reply = requests.handle_request(device.request(server.url("/upload/bundle"), request_id))
    finally:
        server.close()
    assert (reply.ok, reply.decision) == (False, "upload_failed"), reply
    return requests


def test_clips_delete_removes_snapshots_thumbnails_rows_and_waiting_copies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    record(data, {"visit": (5.0, 8.0)}, PrivacyConfig())
    index = EventIndex(DataDir(data).index)
    (clip,) = index.clips()
    assert files_under(data / "snapshots") == ["visit.jpg", "visit.thumb.jpg"]
    requests = failed_share(data, index, status=200)  # cut mid-body: it will be tried again
    assert (data / "outgoing" / "req-1" / "bundle.tar").is_file()  # a plain copy of the clip
    requests.close()
    deleted = doorbell("clips", "delete", clip.id, "--data-dir", str(data))
    assert deleted.returncode == 0, deleted.stderr
    assert files_under(data / "clips") == files_under(data / "snapshots") == []
    assert not (data / "outgoing" / "req-1").exists()
    assert index.clips() == [] and index.events_between(0, 2 * T0) == []


def test_retention_deletes_every_file_of_an_event_and_only_those(tmp_path: Path) -> None:
    data = tmp_path / "data"
    events = {"old": (5.0, 7.0), "kept": (20.0, 22.0), "still-old": (30.0, 30.0)}
    record(data, events, PrivacyConfig())
    index = EventIndex(DataDir(data).index)
    old, kept = index.clips()
    index.set_keep(kept.id, True)
    index.add_event("still-new", "ring", T0 + DAY)  # a snapshot only, taken a day later
    index.end_event("still-new", T0 + DAY, 0.0, [])
    (data / "snapshots" / "still-new.jpg").write_bytes(b"jpeg")
    index.set_snapshot("still-new", "snapshots/still-new.jpg", "snapshots/still-new.jpg")
    before = ["kept", "kept.thumb", "old", "old.thumb", "still-new", "still-old", "still-old.thumb"]
    assert files_under(data / "snapshots") == [f"{name}.jpg" for name in before]
    deleted = Retention(index, DataDir(data), StorageConfig(max_age_days=1.0)).enforce(T0 + DAY)
    assert deleted == [old.id]
    assert files_under(data / "clips") == [Path(kept.file).name]
    # The old clip's event and the old clipless one went with their pictures; the rest stayed.
    assert files_under(data / "snapshots") == ["kept.jpg", "kept.thumb.jpg", "still-new.jpg"]
    assert [e.id for e in index.events_between(0, 3 * T0)] == ["kept", "still-new"]


def test_a_share_that_cannot_go_on_leaves_no_copies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    record(data, {"visit": (5.0, 8.0)}, PrivacyConfig())
    index = EventIndex(DataDir(data).index)
    failed_share(data, index, status=403).close()  # refused for good: nothing to retry
    assert not (data / "outgoing" / "req-1").exists()
    failed_share(data, index, 200, "req-2").close()  # cut: kept for the retry...
    (clip,) = index.clips()
    index.set_keep(clip.id, True)
    retention = Retention(index, DataDir(data), StorageConfig())
    retention.enforce(T0)
    assert (data / "outgoing" / "req-2" / "bundle.tar").is_file()
    retention.enforce(T0 + 3600)  # ...until the request has expired: nobody can take it now
    assert not (data / "outgoing" / "req-2").exists()
    assert [c.id for c in index.clips()] == [clip.id]


def at_rest(identity: x25519.Identity) -> dict[str, Any]:
    return {"e2e": {"recipients": [str(identity.to_public())], "at_rest": True}}


def test_at_rest_snapshots_and_thumbnails_are_ciphertext(tmp_path: Path) -> None:
    identity = x25519.Identity.generate()
    data = tmp_path / "data"
    record(data, {"visit": (5.0, 8.0)}, PrivacyConfig.model_validate(at_rest(identity)))
    assert files_under(data / "snapshots") == ["visit.jpg.age", "visit.thumb.jpg.age"]
    index = EventIndex(DataDir(data).index)
    (event,) = index.events_between(0, 2 * T0)
    assert (event.snapshot, event.thumbnail) == (
        "snapshots/visit.jpg.age",
        "snapshots/visit.thumb.jpg.age",
    )
    for name, width in (("visit.jpg.age", 320), ("visit.thumb.jpg.age", 160)):
        sealed = (data / "snapshots" / name).read_bytes()
        assert sealed.startswith(b"age-encryption.org/v1")
        picture = cv2.imdecode(np.frombuffer(decrypt(sealed, [identity]), np.uint8), 1)
        assert picture.shape[1] == width


def test_files_encrypted_at_rest_are_shared_as_they_are_under_their_age_names(
    tmp_path: Path,
) -> None:
    identity = x25519.Identity.generate()
    data = tmp_path / "data"
    record(data, {"visit": (5.0, 8.0)}, PrivacyConfig.model_validate(at_rest(identity)))
    index = EventIndex(DataDir(data).index)
    (clip,) = index.clips()
    device = Device(data, [], {"privacy": at_rest(identity)}, policy="share_all")
    device.core.close()
    requests = FootageRequests(device.config, data, index, clock=device.clock)
    server = PutServer()
    try:
        reply = requests.handle_request(device.request(server.url()))
    finally:
        server.close()
        requests.close()
    assert reply.decision == "shared", reply
    assert {r.path: r.body for r in server.received} == {
        f"/upload/{clip.id}.mp4.age": (data / clip.file).read_bytes(),
        f"/upload/{clip.id}.jpg.age": (data / "snapshots" / "visit.jpg.age").read_bytes(),
    }
    assert not (data / "outgoing" / "req-1").exists()  # sent: no copies left


def test_a_corrupt_index_is_set_aside_and_the_device_starts_fresh(tmp_path: Path) -> None:
    from doorbell.device.storage.index import EventIndex

    path = tmp_path / "index.sqlite"
    path.write_bytes(b"this is not a database, it is a bad copy" * 100)
    index = EventIndex(path)
    index.add_event("ev-1", "motion", 1.0)
    index.close()
    aside = [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].startswith("index.sqlite.corrupt-")
