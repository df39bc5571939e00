"""Home Assistant discovery over real mosquitto, and snapshots shrunk to the payload limit."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np

from doorbell.device.recording.jpeg_picture import JpegPicture
from doorbell.device.recording.masks import PrivacyMask
from doorbell.device.runtime.frame import i420_of
from doorbell.uplink.jpeg_shrink import DecodedJpeg, shrink_jpeg
from doorbell.uplink.uplink import Uplink
from tests.support.broker import MosquittoBroker
from tests.support.uplink_helpers import SessionSubscriber, uplink_config
from tests.support.waiting import wait_until

CONFIG_TOPIC = "homeassistant/device/porch/config"


def noisy_jpeg(width: int, height: int) -> bytes:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return data.tobytes()


def test_discovery_names_only_topics_the_device_uses(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    watcher = SessionSubscriber(mosquitto.port, ["homeassistant/#", "doorbell/porch/#"], "ha")
    # Home Assistant cannot sign: its mode select exists only when `mode` may come unsigned.
    config = uplink_config(mosquitto.port, tmp_path, commands={"unsigned": ["mode"]})
    uplink = Uplink(config, tmp_path)
    uplink.start()
    try:
        assert watcher.wait_for_messages(2, 10)
        assert wait_until(lambda: any(t == CONFIG_TOPIC for t, _ in watcher.payloads), 10)
        config = json.loads(next(p for t, p in watcher.payloads if t == CONFIG_TOPIC))
        assert {"dev", "o", "cmps"} <= set(config)
        assert config["availability_topic"] == "doorbell/porch/status"
        cmps = config["cmps"]
        platforms = {c["p"] for c in cmps.values()}
        assert {"binary_sensor", "event", "image", "select", "sensor"} <= platforms
        assert cmps["motion"]["device_class"] == "motion"
        labelled = {name for name in cmps if name.startswith("motion_")}  # one per label
        assert labelled == {"motion_person", "motion_vehicle", "motion_animal", "motion_package"}
        assert cmps["ring"]["device_class"] == "doorbell"
        assert cmps["ring"]["event_types"] == ["ring"]
        assert cmps["mode"]["options"] == ["disarmed", "home", "away"]
        assert all(
            c["entity_category"] == "diagnostic"
            for name, c in cmps.items()
            if c["p"] == "sensor" and name != "mode"
        )
        assert len({c["unique_id"] for c in cmps.values()}) == len(cmps)
        topics = uplink.topics
        published = {topics.status, topics.motion, topics.ring, topics.snapshot}
        published |= {topics.mode, topics.telemetry}
        published |= {topics.motion_label(x) for x in ("person", "vehicle", "animal", "package")}
        for cmp in cmps.values():
            for key in ("state_topic", "image_topic"):
                if key in cmp:
                    assert cmp[key] in published, (key, cmp[key])
        # the select's command goes to a command the device parses, in the body it expects
        assert cmps["mode"]["command_topic"] == topics.command("mode")
        body = cmps["mode"]["command_template"].replace("{{ value }}", "away")
        body = body.replace("{{ now().timestamp() }}", "1764358150.5")
        assert json.loads(body) == {"request_id": "ha-1764358150.5", "mode": "away"}
        # Home Assistant restarting says `online`: the config comes again
        before = sum(1 for t, _ in watcher.payloads if t == CONFIG_TOPIC)
        watcher.client.publish("homeassistant/status", "online", qos=1)
        assert wait_until(
            lambda: sum(1 for t, _ in watcher.payloads if t == CONFIG_TOPIC) > before, 10
        )
        # the image entity gets a JPEG that fits the payload limit
        big = noisy_jpeg(1280, 960)
        assert len(big) > uplink.config.uplink.max_payload_bytes
        uplink.send_snapshot(big)
        assert wait_until(lambda: any(t == topics.snapshot for t, _ in watcher.payloads), 10)
        snap = next(p for t, p in watcher.payloads if t == topics.snapshot)
        assert len(snap) <= uplink.config.uplink.max_payload_bytes
        assert cv2.imdecode(np.frombuffer(snap, np.uint8), cv2.IMREAD_COLOR) is not None
    finally:
        uplink.stop(2.0)
        watcher.close()


def test_discovery_off_publishes_none(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    topics = ["homeassistant/#", "doorbell/porch/status", "doorbell/porch/cmd/ping/result"]
    watcher = SessionSubscriber(mosquitto.port, topics, "h2")
    uplink = Uplink(uplink_config(mosquitto.port, tmp_path, homeassistant=False), tmp_path)
    uplink.start()
    try:
        assert watcher.wait_for_messages(1, 10)  # status online arrived
        watcher.client.publish("homeassistant/status", "online", qos=1)
        # A ping sent after it is answered only after the uplink has handled the status (one
        # network thread, in order): once its result is here, discovery would have been too.
        deadline = time.monotonic() + 10
        while not any(t.endswith("/result") for t, _ in watcher.payloads):
            assert time.monotonic() < deadline, watcher.payloads
            watcher.client.publish("doorbell/porch/cmd/ping", b'{"request_id": "p"}', qos=1)
            watcher.wait_for_messages(len(watcher.payloads) + 1, 0.5)
        assert not [t for t, _ in watcher.payloads if t.startswith("homeassistant/device")]
    finally:
        uplink.stop(2.0)
        watcher.close()


def test_shrink_jpeg_fits_or_gives_up() -> None:
    small = noisy_jpeg(64, 48)
    assert shrink_jpeg(small, 1 << 20) == small
    big = noisy_jpeg(640, 480)
    fitted = shrink_jpeg(big, 20_000)
    assert fitted is not None and len(fitted) <= 20_000
    assert shrink_jpeg(b"not a jpeg at all" * 100, 100) is None
    assert shrink_jpeg(big, 10) is None  # nothing fits ten bytes
    # Given the picture the JPEG shows, it re-encodes that instead of decoding the JPEG.
    grey = JpegPicture(i420_of(np.full((480, 640, 3), 90, np.uint8)), PrivacyMask([]))
    from_picture = shrink_jpeg(big, 20_000, grey)
    assert from_picture is not None and len(from_picture) <= 20_000
    decoded = cv2.imdecode(np.frombuffer(from_picture, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (480, 640, 3) and abs(float(decoded.mean()) - 90) < 2
    # Too big at any quality: made smaller, keeping its shape.
    smaller = shrink_jpeg(big, 4_000, DecodedJpeg(big))
    assert smaller is not None and len(smaller) <= 4_000
    height, width = cv2.imdecode(np.frombuffer(smaller, np.uint8), cv2.IMREAD_COLOR).shape[:2]
    assert width < 640 and abs(width / height - 640 / 480) < 0.05
