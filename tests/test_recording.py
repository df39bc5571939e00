"""Recording: pre-roll from the encoded ring, post-roll, masks, snapshots, retention, repair."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import cv2
import numpy as np

from doorbell.config.base import NamedPolygon
from doorbell.config.camera import CameraConfig
from doorbell.config.data_dir import DataDir
from doorbell.config.privacy import PrivacyConfig
from doorbell.config.record import RecordConfig, StorageConfig
from doorbell.device.recording.clip import ClipInfo
from doorbell.device.recording.recorder import Recorder
from doorbell.device.recording.stream_encoder import StreamEncoder
from doorbell.device.runtime.frame import i420_of
from doorbell.device.sources import Source, open_source
from doorbell.device.storage.index import EventIndex
from doorbell.device.storage.retention import Retention
from doorbell.device.storage.retention_schedule import RetentionSchedule
from tests.support.process import DoorbellProcess, doorbell

FPS = 15.0
MASK = NamedPolygon(name="neighbour", points=[(0.0, 0.0), (0.3, 0.0), (0.3, 0.4), (0.0, 0.4)])


def enforce(index: EventIndex, data_dir: Path, cfg: StorageConfig, now: float) -> list[str]:
    return Retention(index, DataDir(data_dir), cfg).enforce(now)


def walk_up_ring_recorder(
    tmp_path: Path, record: RecordConfig, privacy: PrivacyConfig | None = None
) -> tuple[Source, Recorder, list[ClipInfo]]:
    """The walk_up_ring scene at 320x240 (looping), opened, and a started Recorder into
    `tmp_path` whose finished clips land in the list returned."""
    source = open_source(
        CameraConfig(source="synthetic:walk_up_ring", width=320, height=240, loop=True)
    )
    source.open()
    clips: list[ClipInfo] = []
    recorder = Recorder(
        record, StorageConfig(), privacy or PrivacyConfig(), tmp_path, FPS, (320, 240), clips.append
    )
    recorder.start()
    return source, recorder, clips


def record(tmp_path: Path, events: list[tuple[float, float]], seconds: float, **cfg: object):  # type: ignore[no-untyped-def]
    """Feed `seconds` of the walk_up_ring scenario through a Recorder with these events."""
    privacy = PrivacyConfig(masks=[MASK]) if cfg.pop("masked", False) else PrivacyConfig()
    recipient = cfg.pop("at_rest_to", None)
    continuous_until = cfg.pop("continuous_until", None)  # then disarmed
    cut_at = cfg.pop("cut_at", None)  # the device disarmed at this frame time
    if recipient:
        privacy = PrivacyConfig.model_validate(
            {"e2e": {"recipients": [recipient], "at_rest": True}}
        )
    source, recorder, clips = walk_up_ring_recorder(tmp_path, RecordConfig(**cfg), privacy)  # type: ignore[arg-type]
    pending = sorted(events)
    open_ids: dict[str, float] = {}
    base = time.time()
    last = None
    while (frame := source.read()) is not None and frame.t < seconds:
        if continuous_until is not None and frame.t >= continuous_until:
            recorder.continuous = False
        if cut_at is not None and frame.t >= cut_at:
            recorder.cut(frame.t)
            cut_at = None
        recorder.push(frame)
        for i, (start, end) in enumerate(pending):
            if abs(frame.t - start) < 1e-6:
                recorder.event_started(f"e{i}", "motion", frame.t, base + frame.t)
                open_ids[f"e{i}"] = end
        for event_id, end in list(open_ids.items()):
            if abs(frame.t - end) < 1e-6:
                recorder.event_ended(event_id, frame.t, base + frame.t, 3.0, ["all"])
                del open_ids[event_id]
        last = frame
    recorder.close()
    assert last is not None
    return clips, recorder


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def test_clip_starts_pre_seconds_early_and_ends_post_seconds_late(tmp_path: Path) -> None:
    clips, _ = record(tmp_path, [(10.0, 15.0)], 30.0)
    (clip,) = clips
    # from the keyframe at or before 10 - 3 s: within one keyframe interval (1 s)
    assert 6.0 <= clip.start_t <= 7.0
    end = clip.start_t + clip.seconds
    assert 20.0 <= end <= 21.0 + 1e-6
    frames = decode(clip.path)
    assert len(frames) == clip.frames == round(clip.seconds * FPS)
    index = EventIndex(tmp_path / "index.sqlite")
    (row,) = index.clips()
    assert (
        row.state == "complete"
        and row.sha256 == clip.sha256
        and row.bytes == clip.path.stat().st_size
    )
    assert not list(tmp_path.glob("clips/*.partial"))


def test_encoded_frames_decode_to_the_pictures_given(tmp_path: Path) -> None:
    source = open_source(CameraConfig(source="synthetic:walk_up_ring", width=320, height=240))
    source.open()
    encoder = StreamEncoder(FPS, (320, 240), 1_500_000, "ultrafast", 1, 15, 4.0)
    pictures, data = [], bytearray()
    for _ in range(45):
        frame = source.read()
        assert frame is not None
        pictures.append(frame.bgr())
        data += b"".join(f.data for f in encoder.feed(frame.main, frame.t))
    data += b"".join(f.data for f in encoder.close())
    (tmp_path / "a.mp4").write_bytes(encoder.init_segment + data)
    decoded = decode(tmp_path / "a.mp4")
    assert len(decoded) == 45
    for given, got in zip(pictures, decoded, strict=True):  # colours and all, not just luma
        assert np.abs(given.astype(int) - got.astype(int)).mean(axis=(0, 1)).max() < 6


def x264_options(clip: Path) -> str:
    """The settings libx264 wrote into the stream it made (its SEI user data)."""
    data = clip.read_bytes()
    start = data.index(b"x264 - core")
    return data[start : data.index(b"\x00", start)].decode()


def test_libx264_runs_on_the_threads_configured(tmp_path: Path) -> None:
    for threads in (1, 2):
        clips, _ = record(tmp_path / str(threads), [(2.0, 3.0)], 6.0, encoder_threads=threads)
        options = x264_options(clips[0].path).split()
        assert f"threads={threads}" in options, options


def test_overlapping_events_share_one_clip_and_max_seconds_splits(tmp_path: Path) -> None:
    clips, _ = record(tmp_path, [(5.0, 9.0), (7.0, 12.0)], 25.0)
    assert len(clips) == 1 and set(clips[0].event_ids) == {"e0", "e1"}
    long_clips, _ = record(tmp_path / "long", [(4.0, 24.0)], 29.0, max_seconds=8.0)
    assert long_clips and all(c.seconds <= 8.0 + 1.0 for c in long_clips)


def test_disarming_ends_the_open_clip_at_once_without_post_roll(tmp_path: Path) -> None:
    """A visitor still in view when the owner disarms is not recorded on to max_seconds."""
    clips, _ = record(tmp_path, [(10.0, 60.0)], 30.0, cut_at=14.2, max_seconds=120)
    (clip,) = clips
    end = clip.start_t + clip.seconds
    assert 14.2 <= end <= 14.2 + 1.0 + 1e-6  # within the keyframe interval under way
    assert len(decode(clip.path)) == clip.frames


def test_continuous_mode_writes_back_to_back_segments_and_links_events(tmp_path: Path) -> None:
    clips, _ = record(
        tmp_path,
        [(70.0, 75.0)],
        150.0,
        mode="continuous",
        segment_minutes=1.0,
        continuous_until=135.2,
    )
    assert [c.start_t for c in clips] == [0.0, 60.0, 120.0]
    assert [c.seconds for c in clips[:2]] == [60.0, 60.0]
    # Turned off (the device disarmed): the open segment ends at the next keyframe.
    assert clips[2].start_t + clips[2].seconds == 136.0
    assert [c.event_ids for c in clips] == [(), ("e0",), ()]
    assert [len(decode(c.path)) for c in clips] == [900, 900, 240]
    index = EventIndex(tmp_path / "index.sqlite")
    rows = sorted(index.clips(), key=lambda r: r.start_wall)
    assert [r.state for r in rows] == ["complete"] * 3
    assert [Path(r.file).name for r in rows] == [c.path.name for c in clips]
    (event,) = index.events_between(0, 2e10)
    assert event.clip_id == rows[1].id
    listed = doorbell("clips", "list", "--data-dir", str(tmp_path)).stdout.splitlines()
    assert len(listed) == 4 and all(r.id in "".join(listed) for r in rows)
    column = listed[0].index("start (UTC)")  # the header's columns fit the longer ids
    assert all(line[column : column + 2] == "20" for line in listed[1:])


def test_masks_are_black_in_every_decoded_frame_and_in_snapshots(tmp_path: Path) -> None:
    clips, recorder = record(tmp_path, [(10.0, 14.0)], 22.0, masked=True)
    hidden = np.zeros((240, 320), np.uint8)
    cv2.rectangle(hidden, (0, 0), (int(0.3 * 320) - 1, int(0.4 * 240) - 1), 255, -1)
    # H.264 blocks may smear a level or two across the mask's edge; well inside it, nothing.
    inside = cv2.erode(hidden, np.ones((5, 5), np.uint8)) > 0
    frames = decode(clips[0].path)
    assert max(int(f[inside].max()) for f in frames) <= 8
    assert min(float(f[~(hidden > 0)].mean()) for f in frames) > 40  # the rest is a picture
    image = i420_of(np.full((240, 320, 3), 200, np.uint8))
    given = image.copy()
    recorder.index = EventIndex(tmp_path / "index.sqlite")
    snap = recorder.save_snapshot("e0", image)
    decoded = cv2.imdecode(np.frombuffer(snap.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert int(decoded[inside].max()) <= 8 and decoded[~(hidden > 0)].mean() > 150
    thumb = cv2.imdecode(np.frombuffer(snap.thumbnail, np.uint8), cv2.IMREAD_COLOR)
    assert thumb.shape[1] == 160
    assert np.array_equal(image, given)  # the caller's picture is left as it was


def test_retention_by_age_size_and_free_space_never_a_kept_clip(tmp_path: Path) -> None:
    clips, _ = record(tmp_path, [(3.0, 4.0), (13.0, 14.0), (23.0, 24.0)], 34.0, post_seconds=1.0)
    assert len(clips) == 3
    index = EventIndex(tmp_path / "index.sqlite")
    first, second, third = index.clips()
    index.set_keep(first.id, True)
    now = third.end_wall
    # by age: a day later, all are too old but the kept one
    old = enforce(index, tmp_path, StorageConfig(max_age_days=0.5), now + 86400)
    assert old == [second.id, third.id]
    assert [c.id for c in index.clips()] == [first.id]
    assert not (tmp_path / second.file).exists()
    # Clips long enough that three of them pass the smallest quota (1 MiB).
    clips, _ = record(
        tmp_path / "b", [(3.0, 6.0), (22.0, 25.0), (41.0, 44.0)], 56.0, post_seconds=8.0
    )
    index = EventIndex(tmp_path / "b" / "index.sqlite")
    rows = index.clips()
    # Room for the newest two (the quota cannot go below 1 MiB): oldest go first until it fits.
    limit = max(rows[-1].bytes + rows[-2].bytes, 1024**2)
    total, expected = sum(r.bytes for r in rows), []
    for row in rows:
        if total <= limit:
            break
        expected.append(row.id)
        total -= row.bytes
    assert rows[-1].bytes + rows[-2].bytes <= limit < sum(r.bytes for r in rows), "clips too small"
    assert enforce(index, tmp_path / "b", StorageConfig(max_bytes=limit), 0.0) == expected
    # by free space: on a real small disk, tests/test_disk_full.py


def test_sigkill_mid_clip_then_restart_repairs(mosquitto, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    args = [
        "--broker",
        mosquitto.url,
        "--data-dir",
        str(data),
        "--camera",
        "synthetic:walk_up_ring",
    ]
    dev = DoorbellProcess(tmp_path / "p1", *args, "--speed", "3")
    try:
        deadline = time.monotonic() + 30
        partial = None
        while time.monotonic() < deadline:
            partials = list(data.glob("clips/*.partial"))
            if partials and partials[0].stat().st_size > 200_000:
                partial = partials[0]
                break
            time.sleep(0.05)
        assert partial is not None, dev.stderr
        dev.proc.send_signal(signal.SIGKILL)
        dev.proc.wait()
    finally:
        dev.kill()
    restarted = doorbell("run", *args, "--duration", "1", "--speed", "max")
    assert restarted.returncode == 0, restarted.stderr
    assert "cut short by a crash" in restarted.stderr
    listed = doorbell("clips", "list", "--json", "--data-dir", str(data))
    rows = json.loads(listed.stdout)
    damaged = [r for r in rows if r["state"] == "damaged"]
    assert len(damaged) == 1
    path = data / damaged[0]["file"]
    assert path.exists() and not list(data.glob("clips/*.partial"))
    assert len(decode(path)) == damaged[0]["frames"] > 0
    for row in rows:  # the index never lists a file that is not there
        assert (data / row["file"]).exists()


def _small_files() -> None:  # in the child: a 1 MB file size limit, like a full card
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_a_full_disk_stops_recording_but_not_alerts(mosquitto, subscribe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sub = subscribe("doorbell/full/event")
    summary = tmp_path / "summary.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "device",
            "run",
            "--broker",
            mosquitto.url,
            "--device-id",
            "full",
            "--data-dir",
            str(tmp_path / "data"),
            "--camera",
            "synthetic:walk_up_ring",
            "--speed",
            "max",
            "--set",
            "record.bitrate=4000000",
            "--summary-json",
            str(summary),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_small_files,
        check=False,
        env={**os.environ},
    )
    assert proc.returncode == 0, proc.stderr
    assert "recording stopped: cannot write clips" in proc.stderr
    assert "Traceback" not in proc.stderr
    # the summary says so too: `0 clips` and exit 0 alone read like a quiet day
    assert proc.stdout.rstrip().endswith("; recording failed: disk full (File too large)")
    document = json.loads(summary.read_text())
    assert document["recording_failed"] == "File too large" and document["clips"] == 0
    assert sub.wait_for(lambda ms: len(ms) >= 2, timeout=10)
    events = [json.loads(m.payload) for m in sub.messages]
    assert {e["state"] for e in events} == {"start", "end"}
    assert not list((tmp_path / "data").glob("clips/*.partial"))


def test_after_a_full_disk_recording_tries_again_a_minute_later(tmp_path: Path) -> None:
    """A card that was full and then has room (the owner deleted something) records again."""
    source, recorder, clips = walk_up_ring_recorder(tmp_path, RecordConfig(bitrate=2_000_000))
    events = {5.0: "full", 30.0: "too-soon", 85.0: "again"}  # each 3 s long
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails instead of killing
    states = {}
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, limits[1]))  # less than a clip
        while (frame := source.read()) is not None and frame.t < 100.0:
            if frame.t == 20.0:  # room again
                resource.setrlimit(resource.RLIMIT_FSIZE, limits)
            recorder.push(frame)
            for start, name in events.items():
                if frame.t == start:
                    recorder.event_started(name, "motion", frame.t, frame.wall)
                    states[name] = recorder.status().state
                if frame.t == start + 3.0:
                    recorder.event_ended(name, frame.t, frame.wall, 1.0, [])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, previous)
    recorder.close()
    assert states == {"full": "ok", "too-soon": "disk_full", "again": "disk_full"}
    assert [c.event_ids for c in clips] == [("again",)]  # the other two have no clip
    assert recorder.status().state == "ok"
    assert len(decode(clips[0].path)) == clips[0].frames
    assert not list(tmp_path.glob("clips/*.partial"))


def test_clips_cli_lists_exports_keeps_and_deletes(tmp_path: Path) -> None:
    clips, _ = record(tmp_path, [(5.0, 8.0)], 20.0)
    clip_id = clips[0].event_ids[0]
    base = ["--data-dir", str(tmp_path)]
    listed = doorbell("clips", "list", *base)
    assert clip_id in listed.stdout and "complete" in listed.stdout
    exported = doorbell("clips", "export", clip_id, str(tmp_path / "out.mp4"), *base)
    assert exported.returncode == 0 and len(decode(tmp_path / "out.mp4")) == clips[0].frames
    assert doorbell("clips", "keep", clip_id, *base).returncode == 0
    shown = json.loads(doorbell("clips", "show", clip_id, *base).stdout)
    assert shown["keep"] is True
    assert doorbell("clips", "delete", clip_id, *base).returncode == 0
    assert json.loads(doorbell("clips", "list", "--json", *base).stdout) == []
    assert doorbell("clips", "show", "nope", *base).returncode == 2


def test_at_rest_clips_are_ciphertext_and_export_decrypts(tmp_path: Path) -> None:
    from pyrage import x25519

    identity = x25519.Identity.generate()
    (tmp_path / "id.txt").write_text(str(identity) + "\n")
    data = tmp_path / "data"
    clips, _ = record(data, [(5.0, 8.0)], 20.0, at_rest_to=str(identity.to_public()))
    (clip,) = clips
    assert clip.path.name.endswith(".mp4.age") and not list(data.glob("clips/*.mp4"))
    assert clip.path.read_bytes().startswith(b"age-encryption.org/v1")
    clip_id = clip.event_ids[0]
    base = ["--data-dir", str(data)]
    out = tmp_path / "plain.mp4"
    done = doorbell(
        "clips", "export", clip_id, str(out), "--identity", str(tmp_path / "id.txt"), *base
    )
    assert done.returncode == 0, done.stderr
    assert len(decode(out)) == clip.frames
    wrong = x25519.Identity.generate()
    (tmp_path / "wrong.txt").write_text(str(wrong) + "\n")
    refused = doorbell(
        "clips",
        "export",
        clip_id,
        str(tmp_path / "x.mp4"),
        "--identity",
        str(tmp_path / "wrong.txt"),
        *base,
    )
    assert refused.returncode == 2 and "cannot decrypt" in refused.stderr


def test_an_event_disarmed_as_it_starts_still_gets_its_clip_up_to_the_cut(tmp_path: Path) -> None:
    """The owner disarms in the same moment the alert goes out: the event began before the cut,
    so its clip is made, and it ends at the cut (within the fragment under way), not post_seconds
    after the event."""
    source, recorder, clips = walk_up_ring_recorder(tmp_path, RecordConfig(post_seconds=5.0))
    base = 2e9
    while (frame := source.read()) is not None and frame.t < 20.0:
        recorder.push(frame)
        if abs(frame.t - 10.0) < 1e-6:  # before the recording thread sees the next frame
            recorder.event_started("e", "motion", frame.t, base + frame.t)
            recorder.cut(frame.t)
    recorder.event_ended("e", 19.0, base + 19.0, 1.0, [])
    recorder.close()
    (clip,) = clips
    assert clip.start_t <= 10.0 - 3.0 + 1e-6  # its pre-roll
    assert clip.start_t + clip.seconds <= 11.0 + 1e-6  # ends with the fragment under way at 10 s


def test_retention_runs_on_its_own_thread_after_each_clip_not_on_the_recording_thread(
    tmp_path: Path,
) -> None:
    """Deleting old clips (files, rows) must not hold up the recording thread: a finished clip
    wakes retention, which runs on a thread of its own."""
    threads: list[str] = []
    real = Retention.enforce

    def noted(self: Retention, now: float) -> list[str]:
        threads.append(threading.current_thread().name)
        return real(self, now)

    Retention.enforce = noted  # type: ignore[method-assign]
    try:
        clips, _ = record(tmp_path, [(3.0, 4.0), (13.0, 14.0)], 24.0, post_seconds=1.0)
    finally:
        Retention.enforce = real  # type: ignore[method-assign]
    assert len(clips) == 2
    # once at start (before any frame), then never on the thread that pushed the frames
    assert threads[0] == threading.current_thread().name
    assert set(threads[1:]) <= {"retention"}


def test_the_retention_schedule_runs_a_pass_when_a_clip_is_finished() -> None:
    ran: list[str] = []
    freed: list[list[str]] = []
    schedule = RetentionSchedule(
        lambda: ran.append(threading.current_thread().name) or ["old"],
        freed.append,
        every_seconds=3600.0,  # only the clip wakes it in this test
    )
    schedule.start()
    try:
        schedule.clip_finished()
        deadline = time.monotonic() + 10
        while schedule.passes < 1:
            assert time.monotonic() < deadline, "no retention pass after a clip"
            time.sleep(0.01)
    finally:
        schedule.stop()
    assert ran == ["retention"] and freed == [["old"]]
