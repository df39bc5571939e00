"""Camera sources: files, OpenCV streams that drop, injected faults (picamera2: its own file)."""

from __future__ import annotations

import http.server
import socketserver
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from doorbell.config.camera import CameraConfig, FaultsConfig
from doorbell.device.recording.mp4_writer import Mp4Writer
from doorbell.device.sources import SourceError, open_source
from doorbell.device.sources.faults import FaultySource, SourceDisconnected
from doorbell.device.sources.opencv import OpenCvSource


def short_video(path: Path, frames: int = 30) -> Path:
    with Mp4Writer(path, 15.0, (160, 120)) as writer:
        for i in range(frames):
            image = np.full((120, 160, 3), 40, np.uint8)
            image[:, i * 4 : i * 4 + 10] = 220
            writer.write(image)
    return path


def read_all(source: Any, limit: int = 10_000) -> list:
    frames = []
    while len(frames) < limit and (frame := source.read()) is not None:
        frames.append(frame)
    return frames


def test_file_source_replays_at_its_own_frame_rate_and_loops(tmp_path: Path) -> None:
    video = short_video(tmp_path / "v.mp4")
    source = open_source(CameraConfig(source=f"file:{video}"), start_wall=1000.0)
    source.open()
    frames = read_all(source)
    assert len(frames) == 30 and source.fps == 15
    assert [f.t for f in frames[:3]] == [0.0, 1 / 15, 2 / 15]
    assert frames[0].wall == 1000.0 and frames[0].lores.shape == (240, 320)
    source.close()
    looping = open_source(CameraConfig(source=f"file:{video}", loop=True))
    looping.open()
    assert len(read_all(looping, limit=75)) == 75
    looping.close()


def test_missing_file_and_unknown_camera_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        open_source(CameraConfig(source=f"file:{tmp_path / 'none.mp4'}"))
    with pytest.raises(SourceError, match="allowed: synthetic"):
        open_source(CameraConfig(source="webcam"))


def test_a_stream_that_drops_is_reopened_with_backoff(tmp_path: Path) -> None:
    video = short_video(tmp_path / "cam.mp4", frames=10)
    sleeps: list[float] = []
    # A "live" OpenCV stream over a real file: when the file ends, the stream has dropped.
    stream = OpenCvSource(str(video), CameraConfig(), sleep=sleeps.append)
    stream.open()
    frames = read_all(stream, limit=25)
    assert len(frames) == 25  # it came back, twice
    assert stream.stats.reopens == 2 and sleeps == [1.0, 1.0]
    stream.close()


def test_a_camera_that_stays_away_is_retried_with_doubling_backoff(tmp_path: Path) -> None:
    video = short_video(tmp_path / "cam.mp4", frames=5)
    away = tmp_path / "away.mp4"
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 1:
            video.rename(away)  # the camera is gone: opening fails until it comes back
        elif len(sleeps) == 4:
            away.rename(video)

    camera = CameraConfig(reopen_max_seconds=2.5)
    stream = OpenCvSource(str(video), camera, sleep=sleep)
    stream.open()
    frames = read_all(stream, limit=8)
    assert len(frames) == 8 and [f.seq for f in frames] == list(range(8))
    assert sleeps == [1.0, 2.0, 2.5, 2.5]  # doubling, capped at reopen_max_seconds
    assert stream.stats.reopens == 4
    stream.close()


def test_closing_a_source_ends_its_reopen_loop(tmp_path: Path) -> None:
    video = short_video(tmp_path / "cam.mp4", frames=3)
    stream: OpenCvSource

    def sleep(seconds: float) -> None:
        video.unlink(missing_ok=True)
        stream.close()  # as the runtime does from another thread on shutdown

    stream = OpenCvSource(str(video), CameraConfig(), sleep=sleep)
    stream.open()
    assert len(read_all(stream)) == 3  # then the stream drops, and the source is closed
    assert stream.stats.reopens == 0


def test_a_file_with_an_injected_disconnect_carries_on_after_it(tmp_path: Path) -> None:
    video = short_video(tmp_path / "v.mp4", frames=30)
    camera = CameraConfig(source=f"file:{video}", faults=FaultsConfig(disconnect_at=1.0))
    source = open_source(camera, start_wall=0.0)
    assert isinstance(source, FaultySource)
    source.open()  # a video's size is known once it is open
    assert (source.width, source.height, source.fps) == (160, 120, 15.0)
    before = read_all(source, limit=15)
    assert [f.t for f in before][-1] < 1.0
    with pytest.raises(SourceDisconnected, match=r"disconnected at 1\.00 s"):
        source.read()
    after = read_all(source)
    assert after[0].seq == 16 and len(before) + len(after) + source.stats.dropped == 30
    source.close()


def test_injected_drop_stall_and_disconnect() -> None:
    camera = CameraConfig(source="synthetic:rain")
    slept: list[float] = []
    faults = FaultsConfig(
        drop_percent=20, stall_at=4.0, stall_seconds=2.0, disconnect_at=8.0, seed=3
    )
    source = FaultySource(open_source(camera), faults, sleep=slept.append)
    source.open()
    frames = []
    disconnects = 0
    while True:
        try:
            frame = source.read()
        except SourceDisconnected:
            disconnects += 1
            continue
        if frame is None:
            break
        frames.append(frame)
    total = 25 * 15
    assert disconnects == 1 and slept == [2.0] and source.stats.stalls == 1
    stalled = [f for f in frames if 4.0 <= f.t < 6.0]
    assert stalled == []
    assert len(frames) + source.stats.dropped == total
    assert 0.15 < (source.stats.dropped - 30) / total < 0.25


def test_close_from_another_thread_ends_a_reopen_wait_at_once(tmp_path: Path) -> None:
    # A live stream (not a file) that stops delivering: read() waits 1 s, then reopens.
    stream = OpenCvSource(str(short_video(tmp_path / "cam.mp4")), CameraConfig(), is_file=False)
    stream.open()
    frames: list[object] = []
    reader = threading.Thread(target=lambda: frames.extend(iter(stream.read, None)))
    reader.start()
    deadline = time.monotonic() + 10
    while len(frames) < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # all 30 frames read, and into the backoff wait before reopening
    began = time.monotonic()
    stream.close()
    reader.join(5)
    assert not reader.is_alive() and len(frames) == 30
    assert time.monotonic() - began < 0.4 and stream.stats.reopens == 0
    assert stream.read() is None  # closed stays closed: no silent reopen


def test_faults_from_config_wrap_any_source() -> None:
    camera = CameraConfig(source="synthetic:rain", faults=FaultsConfig(drop_percent=50))
    assert isinstance(open_source(camera), FaultySource)


def test_a_network_stream_that_stalls_is_cut_by_the_read_timeout_and_reopened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = tmp_path / "stream.mp4"
    with Mp4Writer(video, 15.0, (160, 120), keyframe_frames=5) as writer:
        for i in range(60):
            image = np.full((120, 160, 3), 40, np.uint8)
            image[:, i * 2 : i * 2 + 10] = 220
            writer.write(image)
    data = video.read_bytes()
    let_go, hang_over = threading.Event(), threading.Event()
    served: list[str] = []

    class Camera(http.server.BaseHTTPRequestHandler):
        """An HTTP camera whose first connection sends half the video, then hangs."""

        def do_GET(self) -> None:
            served.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if len(served) == 1:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                let_go.wait(30)
                hang_over.set()
            else:
                self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Camera)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr("doorbell.device.sources.opencv.READ_TIMEOUT_MS", 500)
    sleeps: list[float] = []
    url = f"http://127.0.0.1:{server.server_address[1]}/cam.mp4"
    stream = OpenCvSource(url, CameraConfig(), sleep=sleeps.append)
    try:
        stream.open()
        frames = read_all(stream, limit=70)
        stalled = not hang_over.is_set()  # still hanging: the timeout, not the server, ended it
    finally:
        let_go.set()
        stream.close()
        server.shutdown()
        server.server_close()
    assert stalled and len(served) == 2
    assert stream.stats.reopens == 1 and sleeps == [1.0]
    assert len(frames) == 70 and [f.seq for f in frames] == list(range(70))
    assert frames[-1].main.shape == (180, 160)  # I420
