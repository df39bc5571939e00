"""`doorbell watch`: one line per ring, `--count` counts rings not messages, and a broker it cannot
reach is an error with the reason (exit 1), not silence and exit 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from doorbell.config.data_dir import DataDir
from tests.support.broker import MosquittoBroker, free_port
from tests.support.process import DoorbellProcess, doorbell


def test_a_broker_that_cannot_be_reached_is_an_error_with_the_reason() -> None:
    port = free_port()  # nothing listens there
    proc = doorbell("watch", "--broker", f"mqtt://127.0.0.1:{port}", "--timeout", "60", timeout=60)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"cannot connect to 127.0.0.1:{port}" in lines[0] and "refused" in lines[0], lines[0]


def wait_for_text(path: Path, needle: str, count: int = 1, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while path.read_text().count(needle) < count:
        assert time.monotonic() < deadline, path.read_text()
        time.sleep(0.05)


def test_each_ring_is_one_line_and_count_counts_rings(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    device = DoorbellProcess(
        tmp_path / "device",
        "--broker",
        mosquitto.url,
        "--device-id",
        "wt",
        "--data-dir",
        str(data),
        "--speed",
        "1",
    )
    out, err = tmp_path / "watch.out", tmp_path / "watch.err"
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "device",
            "watch",
            "--broker",
            mosquitto.url,
            "--device-id",
            "wt",
            "--count",
            "2",
            "--timeout",
            "90",
        ],
        stdout=out.open("w"),
        stderr=err.open("w"),
        stdin=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    try:
        device.wait_for(DataDir(data).control_socket)
        wait_for_text(err, "watching doorbell/wt")
        first = doorbell("press", "--data-dir", str(data))
        assert first.returncode == 0, first.stderr
        wait_for_text(out, "RING")
        second = doorbell("press", "--data-dir", str(data))
        assert second.returncode == 0, second.stderr
        assert watcher.wait(60) == 0, err.read_text()
        rings = [line for line in out.read_text().splitlines() if "RING" in line]
        ids = [first.stdout.split()[-1], second.stdout.split()[-1]]
        assert len(rings) == 2, rings
        assert [ring.split()[-1] for ring in rings] == ids
        device.signal(signal.SIGTERM)
        assert device.wait() == 0
    finally:
        device.kill()
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()


def test_what_strangers_publish_reaches_the_terminal_escaped(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """Anyone on the broker can publish on a device's topics: an escape sequence (clear screen,
    retitle the terminal), a second line or a payload that is not an event is printed as text."""
    from tests.support.subscriber import Subscriber

    out, err = tmp_path / "watch.out", tmp_path / "watch.err"
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "device",
            "watch",
            "--broker",
            mosquitto.url,
            "--device-id",
            "wt",
            "--count",
            "1",
            "--timeout",
            "60",
        ],
        stdout=out.open("w"),
        stderr=err.open("w"),
        stdin=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    publisher = Subscriber(mosquitto.port, ["x/never"])
    try:
        wait_for_text(err, "watching doorbell/wt")
        nasty = "\x1b[2J\x1b]0;owned\x07\nFAKE: disarmed"
        publisher.client.publish("doorbell/wt/status", nasty, qos=1)
        publisher.client.publish("doorbell/wt/event", b"[1, 2]", qos=1)
        publisher.client.publish(
            "doorbell/wt/event",
            '{"type": "motion\\u001b[31m", "state": "start", "id": "x\\u001b]0;t\\u0007"}',
            qos=1,
        )
        assert watcher.wait(60) == 0, err.read_text()
    finally:
        publisher.close()
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    text = out.read_text()
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[2J" in text
    lines = text.splitlines()
    assert len(lines) == 3, lines  # the newline in the status did not start a line of its own


def test_a_motion_alert_line_says_what_moved_at_start_and_at_end() -> None:
    from doorbell.device.cli.watch import describe

    start = {"type": "motion", "state": "start", "start": "T0", "score": 3.4, "zones": ["path"]}
    start |= {"id": "e1", "label": "person", "labels": {"person": 0.8}}
    end = start | {"state": "end", "end": "T1", "clip": None, "label": "vehicle"}
    assert describe("event", "porch", json.dumps(start).encode()) == (
        "T0 porch: MOTION person score 3.4 zones path id e1"
    )
    assert describe("event", "porch", json.dumps(end).encode()) == (
        "T1 porch: motion vehicle ended, no clip id e1"
    )
    old = {k: v for k, v in start.items() if k not in ("label", "labels")}  # an older device
    assert describe("event", "porch", json.dumps(old).encode()) == (
        "T0 porch: MOTION score 3.4 zones path id e1"
    )
    # A label is text from the broker: escaped like the rest of the line.
    evil = start | {"label": "person\x1b[2J"}
    assert "\x1b" not in (describe("event", "porch", json.dumps(evil).encode()) or "")


def test_a_possible_package_is_a_line_when_it_arrives_and_when_it_is_gone() -> None:
    from doorbell.device.cli.watch import describe

    start = {"type": "package", "state": "start", "start": "T0", "score": 0.0, "zones": []}
    start |= {"id": "p1", "label": "package", "boxes": [[0.4, 0.8, 0.1, 0.1]], "clip": None}
    taken = {
        "file": "clips/m2.mp4",
        "seconds": 12.5,
        "bytes": 1,
        "sha256": "0",
        "state": "complete",
    }
    end = start | {"state": "end", "end": "T1", "motion_event": "m2", "clip": taken}
    assert describe("event", "porch", json.dumps(start).encode()) == (
        "T0 porch: PACKAGE id p1, delivery no clip"
    )
    # the courier's clip still being written: which motion event's it will be
    brought = start | {"motion_event": "m1"}
    assert describe("event", "porch", json.dumps(brought).encode()) == (
        "T0 porch: PACKAGE id p1, delivery in the clip of motion m1"
    )
    # its end names the clip of whoever took it (the motion event `motion_event`)
    assert describe("event", "porch", json.dumps(end).encode()) == (
        "T1 porch: package gone id p1, taken clip clips/m2.mp4 (12.5 s)"
    )
