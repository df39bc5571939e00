"""Test support for footage requests: real H.264 clips, signed requests, a loopback PUT server."""

from __future__ import annotations

import base64
import hashlib
import http.server
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from doorbell.config import DoorbellConfig
from doorbell.uplink.requests import FootageRequests
from doorbell.uplink.requests.audit import AuditLog
from doorbell.uplink.requests.signing import public_key_b64, sign_body


def iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat().replace("+00:00", "Z")


def write_h264(path: Path, frames: int, fps: int = 10, size: tuple[int, int] = (160, 120)) -> None:
    """A real H.264 MP4 (libx264 through PyAV) with a moving square."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(frames):
            img = np.zeros((size[1], size[0], 3), np.uint8)
            x = (i * 7) % (size[0] - 20)
            img[40:60, x : x + 20] = (0, 200, 255)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def decode_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        return sum(1 for _ in container.decode(video=0))


@dataclass
class FootageClip:
    id: str
    file: str
    start_wall: float
    end_wall: float
    seconds: float
    bytes: int
    sha256: str
    state: str = "complete"
    snapshot: str | None = None
    event_id: str = ""
    keep: bool = False


def make_clip(data_dir: Path, clip_id: str, start_wall: float, seconds: float = 1.0) -> FootageClip:
    """Writes clips/<id>.mp4 and snapshots/<id>.jpg under data_dir."""
    fps = 10
    rel = f"clips/{clip_id}.mp4"
    write_h264(data_dir / rel, frames=int(seconds * fps), fps=fps)
    snap_rel = f"snapshots/{clip_id}.jpg"
    (data_dir / "snapshots").mkdir(parents=True, exist_ok=True)
    img = np.full((120, 160, 3), 90, np.uint8)
    ok, jpeg = cv2.imencode(".jpg", img)
    assert ok
    (data_dir / snap_rel).write_bytes(jpeg.tobytes())
    data = (data_dir / rel).read_bytes()
    return FootageClip(
        id=clip_id,
        file=rel,
        start_wall=start_wall,
        end_wall=start_wall + seconds,
        seconds=seconds,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        snapshot=snap_rel,
        event_id=f"ev-{clip_id}",
    )


@dataclass
class ListIndex:
    """The clip index interface (`clips_between`) over a list of rows whose files are real."""

    clips: list[FootageClip] = field(default_factory=list)

    def clips_between(self, start_wall: float, end_wall: float) -> list[FootageClip]:
        return [c for c in self.clips if c.end_wall > start_wall and c.start_wall < end_wall]


class Signer:
    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.public = public_key_b64(self.key)

    def sign(self, body: dict[str, Any]) -> dict[str, Any]:
        return sign_body(body, self.key)


def request_body(
    request_id: str, start: float, end: float, expires: float, url: str, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "command": "footage_request",
        "request_id": request_id,
        "audience": "porch-cam",
        "requester": {"kind": "police", "name": "Metro PD", "case": "2026-1187"},
        "window": {"start": iso(start), "end": iso(end)},
        "reason": "burglary on the street",
        "issued_at": iso(start),
        "expires": iso(expires),
        "upload": {"url": url, "method": "PUT", "headers": {}},
    }
    body.update(extra)
    return body


def decision_body(request_id: str, decision: str, expires: str, **extra: Any) -> dict[str, Any]:
    """An owner's decision on `request_id` for the porch camera (`device_id` and the rest may be
    overridden or added through `extra`), unsigned."""
    body: dict[str, Any] = {
        "command": "footage_decision",
        "device_id": "porch-cam",
        "request_id": request_id,
        "decision": decision,
        "expires": expires,
    }
    body.update(extra)
    return body


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class PutServer:
    """A real HTTP server on loopback that stores PUT bodies; it can cut `fail_first` uploads
    (after `fail_after` good ones) off mid-body: reads half, drops the connection, no answer.
    With `hold`, every PUT waits (after setting `arrived`) until the test sets `release`."""

    def __init__(
        self, fail_first: int = 0, fail_after: int = 0, hold: bool = False, status: int = 200
    ) -> None:
        self.status = status  # what a PUT that is not cut gets (403: refused for good)
        self.arrived = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.received: list[Received] = []
        self.cut: list[str] = []
        self.fail_first = fail_first
        self.fail_after = fail_after  # answer this many PUTs before starting to fail
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                outer.arrived.set()
                outer.release.wait(60)
                length = int(self.headers["Content-Length"])
                with outer._lock:
                    fail = outer.fail_first > 0 and len(outer.received) >= outer.fail_after
                    if fail:
                        outer.fail_first -= 1
                if fail:
                    self.rfile.read(length // 2)
                    outer.cut.append(self.path)
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with outer._lock:
                    outer.received.append(Received(self.path, headers, body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, template: str = "/upload/{name}") -> str:
        return f"http://127.0.0.1:{self.port}{template}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


T0 = 1_790_000_000.0  # a fixed "now": the clock is injected

Footage = tuple[Path, list[FootageClip]]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def write_footage(data_dir: Path) -> Footage:
    """Three real clips: two inside [T0-3600, T0-600], one before that window."""
    clips = [
        make_clip(data_dir, "c-early", T0 - 7200),
        make_clip(data_dir, "c-1", T0 - 3000),
        make_clip(data_dir, "c-2", T0 - 2000),
    ]
    return data_dir, clips


class Device:
    """One device's footage-request core over its own copy of the footage."""

    def __init__(
        self, data_dir: Path, clips: list[FootageClip], sections: dict[str, Any], **sets: Any
    ) -> None:
        self.requester, self.owner = Signer(), Signer()
        self.clock = Clock(T0)
        values: dict[str, Any] = {
            "trusted_keys": [self.requester.public],
            "owner_keys": [self.owner.public],
            "allow_insecure_upload": True,
            "upload_backoff_seconds": 0.0,
            # These devices test how footage travels, byte for byte as recorded; faces filled
            # before it leaves (the default, faces) are tests/test_redaction.py's.
            "redact": "none",
        }
        values.update(sets)
        raw: dict[str, Any] = {"device": {"id": "porch-cam"}}
        raw.update(sections)
        raw["device"] = {**raw["device"], "data_dir": str(data_dir)}
        raw["requests"] = values
        self.config = DoorbellConfig.model_validate(raw)
        self.data_dir = data_dir
        self.index = ListIndex(list(clips))
        self.core = self.open()

    def open(self) -> FootageRequests:
        return FootageRequests(self.config, self.data_dir, self.index, clock=self.clock)

    def request(self, url: str, request_id: str = "req-1", **extra: Any) -> dict[str, Any]:
        extra = {"audience": self.config.device.id, **extra}
        body = request_body(request_id, T0 - 3600, T0 - 600, T0 + 3600, url, **extra)
        return self.requester.sign(body)

    def audit_kinds(self) -> list[str]:
        return [e["kind"] for e in AuditLog.in_dir(self.data_dir).entries()]


class DeviceFactory:
    def __init__(self, root: Path, footage: Footage) -> None:
        self.root, self.footage = root, footage
        self.opened: list[Device] = []

    def __call__(self, sections: dict[str, Any] | None = None, **sets: Any) -> Device:
        data_dir = self.root / f"dev{len(self.opened)}"
        src, clips = self.footage
        for sub in ("clips", "snapshots"):
            (data_dir / sub).mkdir(parents=True)
            for f in (src / sub).iterdir():
                (data_dir / sub / f.name).write_bytes(f.read_bytes())
        device = Device(data_dir, clips, sections or {}, **sets)
        self.opened.append(device)
        return device

    def close(self) -> None:
        for device in self.opened:
            device.core.close()
