"""The local page over real HTTP against a running device: every route's status codes, login
required, CSRF refused, bad input refused, and what each change does on the device."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np
import pytest
import requests
import yaml
from pyrage import x25519

from doorbell.config import load_config
from doorbell.device.web import WebRefused
from tests.support.footage import PutServer, Signer, iso, request_body
from tests.support.process import doorbell
from tests.support.web_page import PASSWORD, PageClient, PageDevice, page_device, wait_until

GET_ROUTES = [
    "/live",
    "/live.jpg",
    "/live/video.mp4",
    "/live/codec",
    "/api/health",
    "/events",
    "/events/stream",
    "/events/x/thumb.jpg",
    "/clips/x",
    "/clips/x/video.mp4",
    "/clips/x/download",
    "/zones",
    "/requests",
    "/settings",
]
POST_ROUTES = [
    "/mode",
    "/clips/x/keep",
    "/clips/x/delete",
    "/zones",
    "/requests/x/approve",
    "/requests/x/decline",
]

SIGNER = Signer()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageDevice]:
    tmp = tmp_path_factory.mktemp("page")
    with page_device(
        tmp,
        requests={
            "trusted_keys": [SIGNER.public],
            "allow_insecure_upload": True,
            "upload_backoff_seconds": 0.0,
        },
        mqtt={"password": "hunter2-secret", "username": "cam"},
    ) as running:
        yield running


@pytest.fixture
def client(page: PageDevice) -> PageClient:
    client = PageClient(page.url)
    assert client.login().status_code == 303
    return client


def test_every_route_wants_a_login(page: PageDevice) -> None:
    anonymous = PageClient(page.url)
    for path in GET_ROUTES:
        assert anonymous.get(path).status_code == 401, path
    for path in POST_ROUTES:
        assert anonymous.post(path, data={"mode": "home"}).status_code == 401, path
    # a browser asking for a page is sent to the login, and back afterwards
    sent = anonymous.get("/events?type=ring", headers={"Accept": "text/html"})
    assert sent.status_code == 303
    location = urlsplit(sent.headers["Location"])
    assert location.path == "/login" and parse_qs(location.query) == {"next": ["/events?type=ring"]}
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/static/app.css").status_code == 200
    assert page.device.mode == "away"


def test_login_sets_a_strict_http_only_cookie_and_logout_ends_it(page: PageDevice) -> None:
    client = PageClient(page.url)
    wrong = client.login("not the password")
    assert wrong.status_code == 401 and "wrong password" in wrong.text
    done = client.login()
    cookie = done.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie
    assert done.headers["Location"] == "/live"
    assert client.get("/live").status_code == 200
    assert client.change("/logout", {}).status_code == 303
    assert client.get("/live").status_code == 401


def test_changes_without_the_csrf_token_are_refused(client: PageClient, page: PageDevice) -> None:
    for path in POST_ROUTES:
        assert client.post(path, data={"mode": "home"}).status_code == 403, path
        assert client.post(path, data={"mode": "home", "csrf": "forged"}).status_code == 403
    cross = client.post(
        "/mode",
        data={"mode": "home", "csrf": client.csrf()},
        headers={"Origin": "http://evil.example"},
    )
    assert cross.status_code == 403
    assert page.device.mode == "away"


def test_mode_goes_through_the_registry_and_is_audited(
    client: PageClient, page: PageDevice
) -> None:
    bad = client.change("/mode", {"mode": "party"})
    assert bad.status_code == 400 and "mode:" in bad.text
    assert client.change("/mode", {"mode": "home"}).status_code == 303
    assert page.device.mode == "home"
    assert json.loads(page.data.mode.read_text())["mode"] == "home"  # as set over MQTT
    entries = _audit(page)
    refused = [
        (e["kind"], e["data"].get("mode"), e["data"]["ok"])
        for e in entries
        if e["kind"].startswith("web_")
    ]
    assert ("web_mode", "party", False) in refused  # a refusal from the page is audited too
    # the accepted change, once, by the registry that carried it out
    accepted = [e["data"] for e in entries if e["kind"] == "command"]
    assert accepted == [{"command": "mode", "by": "owner-web", "fields": {"mode": "home"}}]
    assert client.change("/mode", {"mode": "away"}).status_code == 303


def test_live_picture_and_health(client: PageClient, page: PageDevice) -> None:
    first = client.get("/live.jpg")
    assert first.status_code == 200 and first.headers["Content-Type"] == "image/jpeg"
    seq = int(first.headers["X-Frame-Seq"])
    later = wait_until(
        lambda: (r := client.get("/live.jpg")) and int(r.headers["X-Frame-Seq"]) > seq and r,
        what="a newer live picture",
    )
    assert later.content != first.content
    health = client.get("/api/health").json()
    assert health["broker_connected"] is False and health["fps"] >= 0
    assert set(health) >= {"outbox_backlog", "disk_used_pct", "dropped_camera", "recording"}


def test_live_video_is_the_recorders_own_fragments(client: PageClient, page: PageDevice) -> None:
    # The first fragment completes one keyframe interval after the first frame: until then 503.
    wait_until(lambda: client.get("/live/codec").status_code == 200, what="a first fragment")
    codec = client.get("/live/codec")
    assert codec.status_code == 200 and codec.json()["codec"].startswith("avc1.")
    with client.http.get(page.url + "/live/video.mp4", stream=True, timeout=10) as video:
        assert video.headers["Content-Type"] == "video/mp4"
        received = b""
        for chunk in video.iter_content(chunk_size=None):
            received += chunk
            if received.count(b"moof") >= 2:
                break
    stream = page.device.recorder.cutter.stream
    assert stream is not None and received.startswith(stream.init_segment)
    assert received[4:8] == b"ftyp" and b"mdat" in received


def test_events_list_filters_and_refuses_bad_filters(client: PageClient, page: PageDevice) -> None:
    event_id = page.ring()
    listed = client.get("/events?type=ring")
    assert listed.status_code == 200 and event_id in listed.text
    assert event_id not in client.get("/events?type=motion").text
    assert event_id not in client.get("/events?day=2001-01-01").text
    assert client.get("/events?type=party").status_code == 400
    assert event_id in client.get("/events?label=unknown").text  # a ring is not classified
    assert event_id not in client.get("/events?label=person").text
    page.device.recorder.index.set_label(event_id, "person")  # as if the classifier said so
    assert event_id in client.get("/events?label=person").text
    assert "ring: person" in client.get("/events?label=person").text
    assert client.get("/events?label=ufo").status_code == 400
    assert client.get("/events?day=yesterday").status_code == 400
    assert client.get("/events/stream?since=soon").status_code == 400
    thumb = client.get(f"/events/{event_id}/thumb.jpg")
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    assert client.get("/events/nope/thumb.jpg").status_code == 404
    assert client.get("/events/..%2f..%2fx/thumb.jpg").status_code in (400, 404)


def test_a_possible_package_is_listed_with_its_delivery_and_its_taker(
    client: PageClient, page: PageDevice
) -> None:
    """The row the device writes for a package (tests/test_packages.py), shown and filtered
    (its clips' links only: no clip is waited for, which a visit in the scene can make long)."""
    delivered, taken = "clip-of-the-courier", "clip-of-the-taker"
    index = page.device.recorder.index
    index.add_event("pkg-1", "package", time.time())
    index.set_label("pkg-1", "package")
    index.link_event(delivered, "pkg-1")
    index.link_end_clip("pkg-1", taken)
    for query in ("type=package", "label=package"):
        listed = client.get(f"/events?{query}")
        assert listed.status_code == 200 and "<td>package</td>" in listed.text, query
        assert f'<a href="/clips/{delivered}">Delivery</a>' in listed.text
        assert f'<a href="/clips/{taken}">Taken</a>' in listed.text
    assert "pkg-1" not in client.get("/events?type=motion").text


def test_a_new_event_is_streamed_to_a_watching_page(client: PageClient, page: PageDevice) -> None:
    with client.http.get(
        page.url + f"/events/stream?since={time.time() + 3600}", stream=True, timeout=10
    ) as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        lines = stream.iter_lines(decode_unicode=True)
        assert next(lines) == ": watching"
        event_id = page.ring()
        for line in lines:
            if line.startswith("data: ") and json.loads(line[6:])["id"] == event_id:
                row = json.loads(line[6:])
                break
    assert row["type"] == "ring" and row["start"].endswith("Z")


def test_clip_plays_with_ranges_is_kept_and_deleted(client: PageClient, page: PageDevice) -> None:
    clip_id = page.clip_of(page.ring())
    assert client.get(f"/clips/{clip_id}").status_code == 200
    part = client.get(f"/clips/{clip_id}/video.mp4", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["Content-Range"].startswith("bytes 0-99/")
    assert part.content[4:8] == b"ftyp"
    download = client.get(f"/clips/{clip_id}/download")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    index = page.device.recorder.index
    assert client.change(f"/clips/{clip_id}/keep", {"keep": "true"}).status_code == 303
    assert index.get_clip(clip_id).keep  # type: ignore[union-attr]
    assert client.change("/clips/nope/keep", {"keep": "true"}).status_code == 404
    assert client.change("/clips/bad%20id/keep", {"keep": "true"}).status_code == 400
    path = page.data.resolve(index.get_clip(clip_id).file)  # type: ignore[union-attr]
    assert client.change(f"/clips/{clip_id}/delete", {}).status_code == 303
    assert index.get_clip(clip_id) is None and not path.exists()
    assert client.get(f"/clips/{clip_id}/video.mp4").status_code == 404
    assert client.change(f"/clips/{clip_id}/delete", {}).status_code == 404
    assert [e["kind"] for e in _audit(page)][-1] == "web_clip_delete"


def test_a_mask_is_validated_saved_and_applied_at_once(
    client: PageClient, page: PageDevice
) -> None:
    before = page.config_file.read_text()
    bow_tie = {"name": "x", "points": [[0, 0], [1, 1], [1, 0], [0, 1]]}
    refused = client.change_json("/zones", {"kind": "privacy_masks", "polygons": [bow_tie]})
    assert refused.status_code == 400
    assert "self-intersecting" in refused.json()["error"]
    assert page.config_file.read_text() == before
    assert client.change_json("/zones", {"kind": "walls", "polygons": []}).status_code == 400
    corner = {"name": "neighbour", "points": [[0, 0], [0.5, 0], [0.5, 0.5], [0, 0.5]]}
    saved = client.change_json("/zones", {"kind": "privacy_masks", "polygons": [corner]})
    assert saved.status_code == 200 and saved.json() == {"ok": True, "error": None}
    on_file = load_config(page.config_file, environ={}).config
    assert on_file.privacy.masks[0].name == "neighbour"
    assert yaml.safe_load(page.config_file.read_text())["web"]["listen"] == "127.0.0.1:0"
    seq = int(client.get("/live.jpg").headers["X-Frame-Seq"])
    fresh = wait_until(
        lambda: (r := client.get("/live.jpg")) and int(r.headers["X-Frame-Seq"]) > seq and r,
        what="a picture taken after the save",
    )
    image = cv2.imdecode(np.frombuffer(fresh.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    h, w = image.shape
    assert image[5 : h // 2 - 5, 5 : w // 2 - 5].max() < 20  # black (JPEG noise aside)
    assert image[h // 2 + 5 :, w // 2 + 5 :].mean() > 20
    zones = client.change_json("/zones", {"kind": "motion_zones", "polygons": [corner]})
    assert zones.status_code == 200
    assert [z.name for z in page.device.config.motion.zones] == ["neighbour"]
    assert client.change_json("/zones", {"kind": "privacy_masks", "polygons": []}).ok
    assert client.change_json("/zones", {"kind": "motion_zones", "polygons": []}).ok
    assert client.get("/zones").status_code == 200


def test_a_request_is_reviewed_approved_and_declined(client: PageClient, page: PageDevice) -> None:
    clip_id = page.clip_of(page.ring())
    server = PutServer()
    try:
        now = time.time()
        for request_id in ("req-approve", "req-decline"):
            body = request_body(
                request_id,
                now - 600,
                now - 0.01,
                now + 3600,
                server.url(),
                audience="webtest",
                issued_at=iso(now - 5),
            )
            reply = page.command("footage_request", **SIGNER.sign(body))
            assert reply is not None and reply.model_extra["decision"] == "pending_review", reply
        listing = client.get("/requests")
        assert listing.status_code == 200 and "req-approve" in listing.text
        assert clip_id in listing.text and "Metro PD" in listing.text
        # Two requests from the same requester are told apart by their ids on the cards.
        assert "Request <code>req-approve</code>" in listing.text
        assert "Request <code>req-decline</code>" in listing.text
        nothing = client.change("/requests/req-approve/approve", {"some": "yes"})  # none ticked
        assert nothing.status_code == 400 and "choose at least one clip" in nothing.text
        wrong = client.change("/requests/req-approve/approve", {"clips": "not-a-clip"})
        assert wrong.status_code == 409 and "not clips of this request" in wrong.text
        # "Share as recorded" ticked: this request's footage goes with its faces
        as_recorded = {"clips": clip_id, "no_redact": "yes"}
        assert client.change("/requests/req-approve/approve", as_recorded).status_code == 303
        wait_until(lambda: server.received, what="the approved clip to be uploaded")
        assert client.change("/requests/req-decline/decline", {}).status_code == 303
        assert client.change("/requests/req-decline/decline", {}).status_code == 409
        assert client.change("/requests/nope/decline", {}).status_code == 409
    finally:
        server.close()
    core = page.device.footage.requests
    assert core.get("req-decline").state == "declined"  # type: ignore[union-attr]
    assert "Verified" in client.get("/requests").text
    kinds = [e["kind"] for e in _audit(page)]
    assert "request_approved" in kinds and "request_declined" in kinds
    [approved] = [e["data"] for e in _audit(page) if e["kind"] == "request_approved"]
    assert approved["redact"] == "none"


def test_settings_show_origins_and_hide_secrets(client: PageClient) -> None:
    settings = client.get("/settings")
    assert settings.status_code == 200
    assert "hunter2" not in settings.text and "(redacted)" in settings.text
    assert "doorbell.yaml" in settings.text and "default" in settings.text


def test_failed_logins_are_limited(tmp_path: Path) -> None:
    with page_device(tmp_path, web={"login_attempts": 2}) as page:
        client = PageClient(page.url)
        assert [client.login("wrong").status_code for _ in range(2)] == [401, 401]
        assert client.login().status_code == 429  # even the right one, for a while
        assert client.get("/live").status_code == 401


def test_not_loopback_without_a_password_is_refused(tmp_path: Path) -> None:
    refused = pytest.raises(WebRefused, match="set-password")
    with refused, page_device(tmp_path, password=None, web={"listen": "0.0.0.0:0"}):
        pass
    data = tmp_path / "data"
    ran = doorbell(
        "run", "--config", str(tmp_path / "doorbell.yaml"), "--duration", "1", timeout=60
    )
    assert ran.returncode == 2 and ran.stderr.strip().count("\n") == 0, ran.stderr
    assert "doorbell web set-password" in ran.stderr
    assert not (data / "web-password").exists()


def test_set_password_stores_only_an_argon2_hash(tmp_path: Path) -> None:
    data = tmp_path / "data"
    short = doorbell("web", "set-password", "--password-stdin", "--data-dir", str(data))
    assert short.returncode == 2 and short.stderr.startswith("doorbell: a password needs")
    done = _set_password(data, PASSWORD)
    assert done.returncode == 0, done.stderr
    stored = (data / "web-password").read_text()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert stat.S_IMODE(os.stat(data / "web-password").st_mode) == 0o600


def _set_password(data: Path, password: str) -> object:
    import subprocess
    import sys

    return subprocess.run(
        [
            sys.executable,
            "-m",
            "device",
            "web",
            "set-password",
            "--password-stdin",
            "--data-dir",
            str(data),
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _audit(page: PageDevice) -> list[dict[str, object]]:
    return [json.loads(line) for line in page.data.audit.read_text().splitlines()]


def test_the_page_is_unreachable_once_the_device_stops(tmp_path: Path) -> None:
    with page_device(tmp_path) as page:
        url = page.url
        assert PageClient(url).get("/login").status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/login", timeout=5)


def test_a_clip_encrypted_at_rest_says_so(tmp_path: Path) -> None:
    recipient = str(x25519.Identity.generate().to_public())
    e2e = {"e2e": {"recipients": [recipient], "at_rest": True}}
    with page_device(tmp_path, privacy=e2e) as page:
        client = PageClient(page.url)
        client.login()
        event_id = page.ring()
        clip_id = page.clip_of(event_id)
        shown = client.get(f"/clips/{clip_id}")
        assert shown.status_code == 200 and "encrypted at rest" in shown.text
        assert "<video" not in shown.text
        video = client.get(f"/clips/{clip_id}/video.mp4")
        assert video.status_code == 409 and "encrypted" in video.text
        assert client.get(f"/events/{event_id}/thumb.jpg").status_code == 409
        assert "encrypted" in client.get("/events").text


def test_the_live_picture_is_masked_even_when_nothing_records(tmp_path: Path) -> None:
    """With recording off no encoder masks frames in place: the page masks its own copy."""
    with page_device(tmp_path, record={"mode": "off"}) as page:
        client = PageClient(page.url)
        client.login()
        corner = {"name": "street", "points": [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]]}
        assert client.change_json("/zones", {"kind": "privacy_masks", "polygons": [corner]}).ok
        seq = int(client.get("/live.jpg").headers["X-Frame-Seq"])
        fresh = wait_until(
            lambda: (r := client.get("/live.jpg")) and int(r.headers["X-Frame-Seq"]) > seq and r,
            what="a picture taken after the save",
        )
        image = cv2.imdecode(np.frombuffer(fresh.content, np.uint8), cv2.IMREAD_GRAYSCALE)
        h, w = image.shape
        assert image[h // 2 + 5 :, w // 2 + 5 :].max() < 20
        assert image[5 : h // 2 - 5, 5 : w // 2 - 5].mean() > 20
        assert client.get("/live/codec").status_code == 503  # no encoder: pictures only
        assert client.get("/live/video.mp4").status_code == 503
