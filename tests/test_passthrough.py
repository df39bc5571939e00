"""Pass-through recording: an H.264 camera's own packets in the clips, no encoder, the pre-roll
kept with keyframes 10 s apart, and the encoder back the moment a privacy mask is drawn."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest

from doorbell.config import load_config
from doorbell.config.base import NamedPolygon
from doorbell.config.camera import CameraConfig
from doorbell.config.privacy import PrivacyConfig
from doorbell.config.record import RecordConfig, StorageConfig
from doorbell.device.emulation.scenarios import load_scenario
from doorbell.device.recording.clip import ClipInfo
from doorbell.device.recording.passthrough_stream import PassthroughStream, passthrough_stream
from doorbell.device.recording.recorder import Recorder
from doorbell.device.recording.stream_encoder import StreamEncoder
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.runtime.startup import open_device
from doorbell.device.sources import open_source
from doorbell.device.storage.index import EventIndex

FPS = 15
GOP_SECONDS = 10  # a camera whose keyframes are far apart
MASK = NamedPolygon(name="neighbour", points=[(0.0, 0.0), (0.4, 0.0), (0.4, 0.5), (0.0, 0.5)])


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 s of the walk_up_ring scene as a camera would send it: H.264 with B-frames, a keyframe
    every 10 s and no others (no scene cuts)."""
    path = tmp_path_factory.mktemp("camera") / "camera.mp4"
    scene = load_scenario("walk_up_ring")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {
            "g": str(GOP_SECONDS * FPS),
            "keyint_min": str(GOP_SECONDS * FPS),
            "sc_threshold": "0",
            "bf": "2",
            "preset": "veryfast",
        }
        for seq in range(30 * FPS):
            main, _ = scene.render(seq)
            small = av.VideoFrame.from_ndarray(main, format="bgr24").reformat(320, 240, "yuv420p")
            small.pts = seq
            out.mux(stream.encode(small))
        out.mux(stream.encode(None))
    return path


def packets_of(path: Path) -> list[tuple[str, bool]]:
    with av.open(str(path)) as container:
        return [
            (hashlib.sha256(bytes(p)).hexdigest(), p.is_keyframe)
            for p in container.demux(video=0)
            if p.size
        ]


def test_a_device_on_an_h264_camera_records_the_cameras_own_packets(
    camera_file: Path, tmp_path: Path
) -> None:
    config = load_config(
        sets=[
            f"camera.source=file:{camera_file}",
            "camera.speed=max",
            f"device.data_dir={tmp_path / 'data'}",
            "mqtt.port=1",
            "mqtt.embedded=false",
        ],
        environ={},
    ).config
    device = open_device(config, RunOptions(echo=lambda line: None, duration=30.0))
    assert isinstance(device.recorder.cutter.stream, PassthroughStream)  # no encoder at all
    device.run()
    index = EventIndex(tmp_path / "data" / "index.sqlite")  # the device closed its own
    clips = [c for c in index.clips() if c.state == "complete"]
    assert clips, "the visit made no clip"
    source = packets_of(camera_file)
    for clip in clips:
        recorded = packets_of(tmp_path / "data" / clip.file)
        # Bit for bit the camera's packets, a run of them starting at one of its keyframes.
        assert recorded[0][1], "a clip starts at a keyframe"
        start = source.index(recorded[0])
        assert recorded == source[start : start + len(recorded)]
        with av.open(str(tmp_path / "data" / clip.file)) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert abs(frames - clip.frames) <= 2 and frames == len(recorded)
    first = clips[0]
    event = index.events_of_clip(first.id)[0]
    # Pre-roll with keyframes 10 s apart: the clip starts at a keyframe at or before 3 s ahead.
    assert first.start_wall <= event.start_wall - config.record.pre_seconds + 1e-6


def test_with_recording_off_no_packets_are_kept(camera_file: Path, tmp_path: Path) -> None:
    """`record.mode: off`: nobody takes the camera's fragments, so none may be made (they piled
    up unread, the camera's bitrate times the run's length)."""
    config = load_config(
        sets=[
            f"camera.source=file:{camera_file}",
            "camera.speed=max",
            "record.mode=off",
            f"device.data_dir={tmp_path / 'data'}",
            "mqtt.port=1",
            "mqtt.embedded=false",
        ],
        environ={},
    ).config
    device = open_device(config, RunOptions(echo=lambda line: None, duration=2.0))
    assert device.recorder.cutter.stream is None  # no ring, no muxer, no packets taken
    device.run()
    assert device.pipeline.stats.frames == 2 * FPS
    assert not list((tmp_path / "data").glob("clips/**/*.mp4"))


def test_with_a_privacy_mask_the_recorder_encodes(camera_file: Path, tmp_path: Path) -> None:
    camera = CameraConfig(source=f"file:{camera_file}")
    source = open_source(camera)
    source.open()
    try:
        record = RecordConfig()
        masked = Recorder(
            record,
            StorageConfig(),
            PrivacyConfig(masks=[MASK]),
            tmp_path,
            FPS,
            (320, 240),
            lambda clip: None,
        )
        assert passthrough_stream(source, record, masked.mask) is None
        masked.close()
    finally:
        source.close()


def test_a_mask_drawn_while_passing_through_switches_to_the_encoder(
    camera_file: Path, tmp_path: Path
) -> None:
    source = open_source(CameraConfig(source=f"file:{camera_file}"))
    source.open()
    clips: list[ClipInfo] = []
    record = RecordConfig(pre_seconds=1.0, post_seconds=1.0)
    recorder = Recorder(
        record, StorageConfig(), PrivacyConfig(), tmp_path, FPS, (320, 240), clips.append
    )
    recorder.use_passthrough(passthrough_stream(source, record, recorder.mask))
    recorder.start()
    events = {"before": (2.0, 5.0), "after": (16.0, 22.0)}
    try:
        while (frame := source.read()) is not None:
            if frame.seq == 12 * FPS:
                recorder.mask.replace([MASK])  # the owner draws a mask on the page
            recorder.push(frame)
            for name, (start, end) in events.items():
                if frame.seq == start * FPS:
                    recorder.event_started(name, "motion", frame.t, 2e9 + frame.t)
                if frame.seq == end * FPS:
                    recorder.event_ended(name, frame.t, 2e9 + frame.t, 1.0, [])
        assert isinstance(recorder.cutter.stream, StreamEncoder)
    finally:
        recorder.close()
        source.close()
    assert [c.event_ids[0] for c in clips] == ["before", "after"]
    with av.open(str(clips[1].path)) as container:
        pictures = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    hidden = np.zeros((240, 320), bool)
    hidden[4 : int(0.5 * 240) - 4, 4 : int(0.4 * 320) - 4] = True
    assert max(int(p[hidden].max()) for p in pictures) <= 24  # masked: black, in every frame
    assert packets_of(clips[0].path)[0] in packets_of(camera_file)  # the first passed through


def test_fragments_wait_for_a_stalled_recorder_only_while_the_ring_holds_them(
    tmp_path: Path,
) -> None:
    """A recording thread that stops taking (a hung write) must not make the capture side hold
    every fragment it completes: what has left the ring is dropped, and counted."""
    path = tmp_path / "short_gops.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": "5", "keyint_min": "5", "sc_threshold": "0", "bf": "0"}
        for seq in range(60):
            frame = av.VideoFrame.from_ndarray(
                np.full((48, 64, 3), seq * 4, np.uint8), format="bgr24"
            ).reformat(format="yuv420p")
            frame.pts = seq
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    taker = PassthroughStream(ring_seconds=1.0)
    with av.open(str(path)) as container:
        for seq, packet in enumerate(p for p in container.demux(video=0) if p.size):
            taker.take(packet, seq / FPS)  # and the recorder never comes (no feed)
    ring = taker.ring
    waiting = taker.feed(np.zeros(1, np.uint8), 60 / FPS)
    assert 0 < len(waiting) <= len(ring) < 11  # 11 intervals completed, the ring holds a few
    assert taker.dropped == 11 - len(waiting)
    assert [f.first_t for f in waiting] == [f.first_t for f in ring][-len(waiting) :]
