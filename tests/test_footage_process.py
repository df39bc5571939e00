"""A signed footage request to a running device over MQTT: shared per the owner's policy,
uploaded to a real HTTP server on loopback, answered on the result topic; the upload runs on its
own worker, so commands are answered while it is still going."""

from __future__ import annotations

import hashlib
import json
import signal
import time
from pathlib import Path

from tests.support.broker import MosquittoBroker
from tests.support.footage import PutServer, Signer, iso, request_body
from tests.support.process import DoorbellProcess, doorbell
from tests.support.scenes import QUIET_PORCH
from tests.support.subscriber import Subscriber

MODE_HOME = b'{"request_id": "m1", "mode": "home"}'


def test_share_all_uploads_the_clip_in_the_window_and_answers(
    mosquitto: MosquittoBroker, subscribe: object, tmp_path: Path
) -> None:
    signer, server = Signer(), PutServer(hold=True)  # each upload hangs until released
    sub: Subscriber = subscribe("doorbell/fe/cmd/+/result")  # type: ignore[operator]
    data = tmp_path / "data"
    began = time.time()
    dev = DoorbellProcess(
        tmp_path / "p",
        "--broker",
        mosquitto.url,
        "--device-id",
        "fe",
        "--data-dir",
        str(data),
        "--camera",
        f"synthetic:{QUIET_PORCH}",  # in real time: a clip's end is soon in the past
        "--set",
        "record.post_seconds=1",
        "--set",
        "requests.policy=share_all",
        "--set",
        f"requests.trusted_keys=[{signer.public}]",
        "--set",
        "requests.allow_insecure_upload=true",  # the test server speaks plain HTTP
        "--set",
        "uplink.commands.unsigned=[mode]",  # the mode change below comes unsigned
        "--set",
        "requests.redact=none",  # how the share travels; faces filled: tests/test_redaction.py
    )
    try:
        dev.wait_for(data / "control.sock")
        assert doorbell("press", "--data-dir", str(data)).returncode == 0  # the clip to share
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            listed = doorbell("clips", "list", "--json", "--data-dir", str(data))
            rows = json.loads(listed.stdout) if listed.returncode == 0 else []
            if rows and rows[0]["state"] == "complete":
                break
            time.sleep(0.5)
        assert rows, dev.stderr
        # A clip ends one frame after its last frame, and a window must end in the past.
        while time.time() <= rows[0]["end_wall"]:
            time.sleep(0.2)
        now = time.time()
        body = signer.sign(
            request_body(
                "case-1187",
                began - 60,
                now,
                now + 600,
                server.url("/upload/{name}"),
                audience="fe",
                issued_at=iso(now),
            )
        )
        publisher = Subscriber(mosquitto.port, ["doorbell/fe/status"])
        publisher.client.publish("doorbell/fe/cmd/footage_request", json.dumps(body), qos=1)
        assert server.arrived.wait(30), dev.stderr  # the upload has begun, and hangs
        # A mode change is answered while the upload is still hanging: it does not wait behind it.
        publisher.client.publish("doorbell/fe/cmd/mode", MODE_HOME, qos=1)
        assert sub.wait_for(lambda ms: bool(ms), timeout=20), dev.stderr
        assert sub.messages[0].topic == "doorbell/fe/cmd/mode/result"
        assert json.loads(sub.messages[0].payload)["mode"] == "home"
        assert not server.received  # still inside the first PUT
        server.release.set()
        assert sub.wait_for(lambda ms: len(ms) >= 2, timeout=30), dev.stderr
        assert sub.messages[1].topic == "doorbell/fe/cmd/footage_request/result"
        reply = json.loads(sub.messages[1].payload)
        publisher.close()
        dev.signal(signal.SIGTERM)
        assert dev.wait() == 0
    finally:
        dev.kill()
        server.close()
    assert reply["ok"] is True and reply["request_id"] == "case-1187", reply["error"]
    assert reply["decision"] == "shared", reply
    shared = {c["sha256"] for c in reply["clips"]}
    assert rows[0]["sha256"] in shared
    uploaded = {hashlib.sha256(r.body).hexdigest() for r in server.received}
    assert rows[0]["sha256"] in uploaded
    text = json.dumps(reply)
    assert "127.0.0.1" not in text and str(data) not in text
