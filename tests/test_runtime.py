"""The device runtime with real processes, signals, sockets and mosquitto."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from gpiozero import Device as GpioDevice
from gpiozero.pins.mock import MockFactory

from doorbell.config import load_config
from doorbell.config.device import ButtonConfig
from doorbell.device.runtime.button import DoorbellButton
from doorbell.device.runtime.control import send
from doorbell.device.runtime.frame import Frame
from doorbell.device.runtime.pacing import Pacer
from doorbell.device.runtime.pipeline import Pipeline
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.runtime.startup import open_device
from doorbell.device.sources import open_source
from doorbell.device.storage.index import EventIndex
from doorbell.device.system.systemd import Notifier, Watchdog
from doorbell.motion.detector import MotionDetector
from doorbell.motion.events import EventTracker
from tests.support.broker import MosquittoBroker
from tests.support.process import DoorbellProcess, doorbell
from tests.support.subscriber import Subscriber


def run_args(broker: MosquittoBroker, data: Path, *extra: str) -> list[str]:
    return ["--broker", broker.url, "--device-id", "rt", "--data-dir", str(data), *extra]


def test_mode_set_over_the_control_socket_survives_a_restart(
    mosquitto: MosquittoBroker, subscribe: object, tmp_path: Path
) -> None:
    sub: Subscriber = subscribe("doorbell/rt/mode")  # type: ignore[operator]
    data = tmp_path / "data"
    dev = DoorbellProcess(tmp_path / "p1", *run_args(mosquitto, data, "--speed", "1"))
    try:
        dev.wait_for(data / "control.sock")
        done = doorbell("mode", "home", "--data-dir", str(data))
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "mode: home"
        assert sub.wait_for(lambda ms: any(m.payload == b"home" for m in ms))
        # `cmd` names the command; it is not one of the motion settings
        socket_path = data / "control.sock"
        assert send(socket_path, {"cmd": "motion", "threshold": 30}) == {"ok": True, "error": None}
        refused = send(socket_path, {"cmd": "motion", "threshold": 999})
        assert not refused["ok"] and refused["error"].startswith("threshold:"), refused
        assert send(socket_path, {"cmd": "reboot"})["error"] == "unknown command 'reboot'"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            raw.connect(str(socket_path))
            raw.sendall(b"[1]\n")
            answer = json.loads(raw.makefile().readline())
        assert answer == {"ok": False, "error": "bad request: a request is a JSON object"}
        bad = doorbell("press", "--data-dir", str(tmp_path / "elsewhere"))
        assert bad.returncode == 1 and "no device is running" in bad.stderr
        dev.signal(signal.SIGTERM)
        assert dev.wait() == 0
    finally:
        dev.kill()
    dev = DoorbellProcess(tmp_path / "p2", *run_args(mosquitto, data, "--speed", "1"))
    try:
        dev.wait_for(data / "control.sock")
        status = doorbell("status", "--json", "--data-dir", str(data))
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["mode"] == "home"
        dev.signal(signal.SIGINT)
        assert dev.wait() == 0
    finally:
        dev.kill()


def test_sigterm_mid_event_finishes_the_clip_and_says_offline(
    mosquitto: MosquittoBroker, subscribe: object, tmp_path: Path
) -> None:
    sub: Subscriber = subscribe("doorbell/rt/#")  # type: ignore[operator]
    data = tmp_path / "data"
    # The default porch scene has its first visitor at ~10 s of video: 2.5 s at 4x.
    dev = DoorbellProcess(tmp_path / "p", *run_args(mosquitto, data, "--speed", "4"))
    try:
        assert sub.wait_for(
            lambda ms: any(m.topic == "doorbell/rt/event" for m in ms), timeout=30
        ), dev.stderr
        dev.signal(signal.SIGTERM)
        assert dev.wait(30) == 0
    finally:
        dev.kill()
    assert sub.wait_for(lambda ms: ms[-1].payload == b"offline", timeout=5)
    events = [json.loads(m.payload) for m in sub.on("doorbell/rt/event")]
    ends = [e for e in events if e["state"] == "end"]
    assert len(ends) == 1 and ends[0]["clip"] is not None, dev.stderr
    clip = data / ends[0]["clip"]["file"]
    with av.open(str(clip)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 15 * 3  # at least the pre-roll, decodable to the end
    assert not list(data.glob("clips/*.partial"))
    # the pipeline ends open events at a stop: nothing is left open in the index for the next
    # start to take for a crash and announce again (device/recovery.py)
    index = EventIndex(data / "index.sqlite")
    assert index.open_events() == [] and index.get_event(ends[0]["id"]) is not None
    index.close()
    retained = Subscriber(mosquitto.port, ["doorbell/rt/status"])
    try:
        assert retained.wait_for(lambda ms: bool(ms))
        assert retained.messages[0].payload == b"offline" and retained.messages[0].retain
    finally:
        retained.close()


def test_sighup_with_a_bad_config_keeps_the_old_one(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    conf = tmp_path / "doorbell.yaml"
    conf.write_text("motion:\n  threshold: 25\n")
    data = tmp_path / "data"
    dev = DoorbellProcess(
        tmp_path / "p", "--config", str(conf), *run_args(mosquitto, data, "--speed", "1")
    )
    try:
        dev.wait_for(data / "control.sock")
        conf.write_text("motion:\n  threshhold: 40\n")
        dev.signal(signal.SIGHUP)
        dev.wait_output("config reload failed")
        assert "motion.threshhold: unknown key" in dev.stderr
        assert dev.proc.poll() is None
        conf.write_text("motion:\n  threshold: 40\nruntime:\n  record_queue: 30\n")
        dev.signal(signal.SIGHUP)
        dev.wait_output("config reloaded")
        dev.wait_output("restart to apply: runtime.record_queue")  # read once, at start
        dev.signal(signal.SIGTERM)
        assert dev.wait() == 0
    finally:
        dev.kill()


def test_a_slow_consumer_does_not_slow_capture_and_drops_are_counted() -> None:
    config = load_config(environ={}).config
    source = open_source(config.camera)
    source.open()
    disk_back = threading.Event()
    writing = threading.Event()

    def stalled_disk(frame: Frame) -> None:
        writing.set()
        disk_back.wait(30)  # the first write hangs until the test lets it go

    pipeline = Pipeline(
        source,
        MotionDetector(config.motion, source.lores_size),
        EventTracker(config.motion),
        Pacer("max"),
        lambda updates, result, frame: None,
        stalled_disk,
        analysis_queue=2,
        record_queue=4,
        duration=3.0,
    )
    pipeline.start()
    try:
        # Capture reads all 3 s of video (45 frames) while the disk has not finished one write:
        # it never waits for the recorder. Conditions, not a stopwatch.
        assert writing.wait(30)
        deadline = time.monotonic() + 60
        while pipeline.running and pipeline.stats.frames < 45 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pipeline.stats.frames == 45
        assert pipeline.stats.recorded == 0  # still inside the first write
    finally:
        disk_back.set()
        pipeline.stop_requested.set()
        pipeline.join(30)
    # one frame in the writer's hands, four queued: the other 40 were dropped and counted
    assert pipeline.record_q.dropped == 40
    assert pipeline.stats.recorded + pipeline.record_q.dropped == 45


def drain(server: socket.socket) -> None:
    server.setblocking(False)
    try:
        while True:
            server.recv(64)
    except BlockingIOError:
        pass
    finally:
        server.settimeout(0.1)


def test_watchdog_is_fed_only_while_frames_flow(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(0.1)
    flowing = threading.Event()
    flowing.set()
    notifier = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "200000"})
    dog = Watchdog(notifier, flowing.is_set)
    dog.start()

    def pings(seconds: float) -> int:
        count, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            with contextlib.suppress(TimeoutError):
                count += server.recv(64) == b"WATCHDOG=1"
        return count

    try:
        assert pings(0.6) >= 4
        flowing.clear()
        # A ping decided on before the clear may still be in flight; once the watchdog has
        # withheld one, every later decision sees the stall, so drain and count from there.
        deadline = time.monotonic() + 5
        while dog.withheld == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert dog.withheld >= 1
        drain(server)
        assert pings(0.6) == 0
        assert dog.withheld >= 4
        flowing.set()
        assert pings(0.6) >= 4
    finally:
        dog.stop()
        server.close()


def test_doorbell_press_cli_rings_the_running_device(
    mosquitto: MosquittoBroker, subscribe: object, tmp_path: Path
) -> None:
    sub: Subscriber = subscribe("doorbell/rt/ring")  # type: ignore[operator]
    data = tmp_path / "data"
    dev = DoorbellProcess(tmp_path / "p", *run_args(mosquitto, data, "--speed", "2"))
    try:
        dev.wait_for(data / "control.sock")
        done = doorbell("press", "--data-dir", str(data))
        assert done.returncode == 0, done.stderr
        assert sub.wait_for(lambda ms: bool(ms), timeout=10)
        ring = json.loads(sub.messages[0].payload)
        assert done.stdout.strip() == f"ring: {ring['id']}"
        dev.signal(signal.SIGTERM)
        assert dev.wait() == 0
    finally:
        dev.kill()


def test_the_device_stops_feeding_the_watchdog_while_its_camera_stalls(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(0.05)
    config = load_config(
        sets=[
            f"device.data_dir={tmp_path / 'data'}",
            "mqtt.port=1",
            "mqtt.embedded=false",
            "camera.faults.stall_at=2.0",
            "camera.faults.stall_seconds=4.0",
            "runtime.stall_seconds=1.0",
        ],
        environ={},
    ).config
    notifier = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"})
    device = open_device(
        config, RunOptions(duration=9.0, echo=lambda line: None, notifier=notifier)
    )
    runner = threading.Thread(target=device.run)
    runner.start()
    # Each message is stamped with the frame time of the newest frame when it arrived: while the
    # camera stalls (frame time 2.0, for 4 s of real time) that stamp stands still.
    received: list[tuple[float, bytes]] = []
    deadline = time.monotonic() + 60
    try:
        while runner.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                message = server.recv(64)
                received.append((device.pipeline.stats.last_frame_t, message))
    finally:
        runner.join(30)
        server.close()
    assert received[0][1] == b"READY=1"
    pings = [t for t, what in received if what == b"WATCHDOG=1"]
    assert any(t < 2.0 for t in pings)  # fed while frames flow...
    assert any(t > 6.0 for t in pings)  # ...and again once they flow after the stall
    # Pings go at 0.2 s; the camera counts as stalled 1 s into the 4 s stall: at most ~5 pings
    # while the frame clock stands still, then the watchdog withholds them.
    frozen = max(t for t in pings if t < 6.0)
    assert sum(1 for t in pings if t == frozen) <= 7, pings
    assert device.watchdog.withheld >= 5
    assert device.source.stats.stalls == 1


@pytest.fixture
def mock_pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    previous, GpioDevice.pin_factory = GpioDevice.pin_factory, factory
    yield factory
    factory.reset()
    GpioDevice.pin_factory = previous


@pytest.mark.parametrize("mode", ["disarmed", "home", "away"])
def test_button_press_rings_in_every_mode_and_disarmed_records_nothing(
    mosquitto: MosquittoBroker,
    subscribe: object,
    tmp_path: Path,
    mock_pins: MockFactory,
    mode: str,
) -> None:
    sub: Subscriber = subscribe("doorbell/rt/ring", "doorbell/rt/event")  # type: ignore[operator]
    data = tmp_path / "data"
    config = load_config(
        sets=[
            f"device.mode={mode}",
            "device.id=rt",
            f"device.data_dir={data}",
            f"mqtt.port={mosquitto.port}",
            "mqtt.embedded=false",
            "button.pin=17",
            "button.chime_pin=27",
            "button.chime_seconds=5",
            "camera.speed=2",
        ],
        environ={},
    ).config
    device = open_device(config, RunOptions(echo=lambda line: None, mode_from_flag=True))
    stop = threading.Event()
    runner = threading.Thread(target=device.run, args=(stop,))
    runner.start()
    try:
        pin = mock_pins.pin(17)
        deadline = time.monotonic() + 10
        while device.button.presses == 0 and time.monotonic() < deadline:
            if device.reactions.last_frame is not None:  # the device is up and has a picture
                pin.drive_low()
                pin.drive_high()
            time.sleep(0.1)
        assert device.button.presses == 1
        assert mock_pins.pin(27).state  # the chime rings
        assert sub.wait_for(lambda ms: len(ms) >= 3, timeout=20)  # ring, event start, end
    finally:
        stop.set()
        runner.join(30)
    ring = json.loads(sub.on("doorbell/rt/ring")[0].payload)
    assert ring["type"] == "ring" and ring["state"] == "start"
    events = [json.loads(m.payload) for m in sub.on("doorbell/rt/event")]
    end = next(e for e in events if e["type"] == "ring" and e["state"] == "end")
    if mode == "disarmed":
        assert end["clip"] is None
        assert not list(data.glob("clips/*.mp4"))
    else:
        assert end["clip"] is not None and (data / end["clip"]["file"]).is_file()


def test_button_debounce_drops_a_bouncing_contact(mock_pins: MockFactory) -> None:
    now = [100.0]
    presses: list[float] = []
    button = DoorbellButton(
        ButtonConfig(pin=4, bounce_ms=50), lambda: presses.append(now[0]), clock=lambda: now[0]
    )
    button.start()
    pin = mock_pins.pin(4)
    try:
        for dt in (0.0, 0.01, 0.02, 0.2):  # three bounces within 50 ms, then a real second press
            now[0] += dt
            pin.drive_low()
            pin.drive_high()
        assert len(presses) == 2 and button.bounced == 2
    finally:
        button.stop()


@pytest.mark.parametrize("mode", ["disarmed", "home", "away"])
def test_only_an_armed_device_sends_motion_alerts_through_the_real_pipeline(
    mosquitto: MosquittoBroker, subscribe: object, tmp_path: Path, mode: str
) -> None:
    sub: Subscriber = subscribe("doorbell/rt/#")  # type: ignore[operator]
    config = load_config(
        sets=[
            f"device.mode={mode}",
            "device.id=rt",
            f"device.data_dir={tmp_path / 'data'}",
            f"mqtt.port={mosquitto.port}",
            "mqtt.embedded=false",
            "camera.speed=max",
        ],
        environ={},
    ).config
    # The default porch scene has a visitor at ~10 s of video, who rings at 14 s.
    device = open_device(
        config, RunOptions(duration=20.0, echo=lambda line: None, mode_from_flag=True)
    )
    summary = device.run()
    assert summary.outbox_backlog == 0  # whatever was raised has reached the broker
    assert sub.wait_for(lambda ms: any(m.payload == b"offline" for m in ms), timeout=10)
    events = [json.loads(m.payload) for m in sub.on("doorbell/rt/event")]
    alerts = [e for e in events if e["type"] == "motion"]
    motion = [m.payload for m in sub.on("doorbell/rt/motion")]
    assert {e["state"] for e in events if e["type"] == "ring"} == {"start", "end"}  # any mode
    if mode == "away":
        assert alerts and all(e["type"] in ("motion", "ring") for e in events)
        assert b"ON" in motion and summary.events >= 1
    else:
        assert alerts == [] and b"ON" not in motion and summary.events == 1  # the ring alone
        assert device.pipeline.stats.analysed == summary.frames  # it did look at every frame


def test_with_recording_off_snapshots_are_sent_not_stored(tmp_path: Path) -> None:
    """`record.mode: off`: nothing is indexed, so a snapshot kept on disk would be named by no
    row, shown nowhere and never deleted by retention: it goes to the broker only."""
    data = tmp_path / "data"
    config = load_config(
        sets=[
            "device.id=rt",
            f"device.data_dir={data}",
            "mqtt.port=1",
            "mqtt.embedded=false",
            "camera.speed=max",
            "record.mode=off",
        ],
        environ={},
    ).config
    device = open_device(config, RunOptions(duration=30.0, echo=lambda line: None))
    assert device.reactions.press()  # a ring too
    summary = device.run()
    assert summary.events >= 2  # the ring and the porch's visitor, with snapshots sent
    assert not [p for p in (data / "snapshots").rglob("*") if p.is_file()]


def test_disarming_mid_event_ends_the_clip_there_and_snapshots_follow_the_mode(
    tmp_path: Path,
) -> None:
    """The owner disarms while a visitor is still in view: the clip ends at that moment (within
    the keyframe under way), not post_seconds after the visitor leaves; a snapshot asked for
    while disarmed is refused."""
    config = load_config(
        sets=[
            "device.id=rt",
            f"device.data_dir={tmp_path / 'data'}",
            "mqtt.port=1",
            "mqtt.embedded=false",
            "camera.speed=max",
            "record.post_seconds=5",
        ],
        environ={},
    ).config
    cut: list[float] = []

    def on_line(line: str) -> None:  # the analysis thread, as the alert is raised
        if line.startswith("ALERT") and not cut:
            frame = device.reactions.last_frame
            assert frame is not None
            cut.append(frame.t)
            assert device.set_mode("disarmed").ok

    device = open_device(config, RunOptions(duration=30.0, echo=on_line, mode_from_flag=True))
    summary = device.run()
    assert cut and summary.events >= 1
    assert not device.send_snapshot().ok
    assert "snapshots are off in mode disarmed" in (device.send_snapshot().error or "")
    (row,) = EventIndex(tmp_path / "data" / "index.sqlite").clips()
    start_wall = device.source.start_wall  # a simulated frame's wall time: start_wall + t
    assert start_wall is not None
    clip_end_t = row.end_wall - start_wall
    keyframe = config.record.keyframe_seconds
    assert cut[0] - 1e-6 <= clip_end_t <= cut[0] + keyframe + 1e-6, (cut, clip_end_t)
    # The event recorded from its start is ended in the index, though it ended disarmed: no row
    # is left open (a restart would send its `end` again as if after a crash).
    assert EventIndex(tmp_path / "data" / "index.sqlite").open_events() == []
