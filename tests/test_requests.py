"""Footage requests: policies, refusals, replay, expiry, review queue, owner decisions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from doorbell.uplink.requests import FootageRequests, RequestReply, result_payload
from doorbell.uplink.requests.audit import AuditLog
from doorbell.uplink.requests.signing import KeyRing
from tests.support.footage import (
    T0,
    Device,
    DeviceFactory,
    Footage,
    PutServer,
    Signer,
    decision_body,
    iso,
    request_body,
    write_footage,
)


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Footage:
    return write_footage(tmp_path_factory.mktemp("footage"))


@pytest.fixture
def server() -> Iterator[PutServer]:
    srv = PutServer()
    yield srv
    srv.close()


@pytest.fixture
def make_device(tmp_path: Path, footage: Footage) -> Iterator[DeviceFactory]:
    factory = DeviceFactory(tmp_path, footage)
    yield factory
    factory.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_share_all_uploads_only_clips_inside_the_window(
    make_device: Any, server: PutServer
) -> None:
    dev = make_device(policy="share_all")
    reply = dev.core.handle_request(dev.request(server.url()))
    assert reply.ok and reply.decision == "shared", reply
    assert [c.id for c in reply.clips] == ["c-1", "c-2"]
    by_id = {c.id: c for c in dev.index.clips}
    for shared in reply.clips:
        assert shared.sha256 == by_id[shared.id].sha256
        assert shared.seconds == pytest.approx(1.0)
    names = sorted(r.path for r in server.received)
    assert names == ["/upload/c-1.jpg", "/upload/c-1.mp4", "/upload/c-2.jpg", "/upload/c-2.mp4"]
    for got in server.received:
        assert got.headers["x-amz-meta-sha256"] == sha(got.body)
        if got.path.endswith(".mp4"):
            clip_id = got.path.rsplit("/", 1)[1].removesuffix(".mp4")
            assert sha(got.body) == by_id[clip_id].sha256
    assert b"c-early" not in result_payload(reply)
    assert dev.audit_kinds() == ["request_received", "request_approved", "request_shared"]
    assert dev.core.get("req-1").state == "shared"  # type: ignore[union-attr]
    assert not (dev.data_dir / "outgoing" / "req-1").exists()


def test_review_queue_is_durable_and_owner_approves_a_subset(
    make_device: Any, server: PutServer
) -> None:
    dev = make_device(policy="review")
    reply = dev.core.handle_request(dev.request(server.url()))
    assert (reply.ok, reply.decision, reply.clips) == (True, "pending_review", [])
    assert server.received == []
    dev.core.close()
    dev.core = dev.open()  # a restart: the queue is on disk
    [stored] = dev.core.in_states(("pending",))
    assert stored.request.request_id == "req-1"
    assert [str(c.id) for c in dev.core.matching_clips("req-1")] == ["c-1", "c-2"]
    reply = dev.core.approve("req-1", ["c-2"])
    assert reply.decision == "shared" and [c.id for c in reply.clips] == ["c-2"]
    assert sorted(r.path for r in server.received) == ["/upload/c-2.jpg", "/upload/c-2.mp4"]
    again = dev.core.approve("req-1")
    assert not again.ok and "not pending" in (again.error or "")


def test_approve_refuses_clips_outside_the_window(make_device: Any, server: PutServer) -> None:
    dev = make_device()
    dev.core.handle_request(dev.request(server.url()))
    reply = dev.core.approve("req-1", ["c-early"])
    assert not reply.ok and "c-early" in (reply.error or "")
    assert server.received == []
    assert dev.core.get("req-1").state == "pending"  # type: ignore[union-attr]


def test_owner_decision_from_the_app(make_device: Any, server: PutServer) -> None:
    dev = make_device()
    dev.core.handle_request(dev.request(server.url()))
    dev.core.handle_request(dev.request(server.url(), request_id="req-2"))
    decision = decision_body("req-1", "approve", "2030-01-01T00:00:00Z", clips=["c-1"])
    forged = dev.core.handle_decision(dev.requester.sign(decision))  # not an owner key
    assert not forged.ok and forged.decision == "refused"
    reply = dev.core.handle_decision(dev.owner.sign(decision))
    assert reply.decision == "shared" and [c.id for c in reply.clips] == ["c-1"]
    decline = decision_body("req-2", "decline", "2030-01-01T00:00:00Z")
    reply = dev.core.handle_decision(dev.owner.sign(decline))
    assert (reply.ok, reply.decision) == (True, "declined")
    assert sorted(r.path for r in server.received) == ["/upload/c-1.jpg", "/upload/c-1.mp4"]


def test_a_decision_signed_for_another_device_is_refused(
    make_device: Any, server: PutServer
) -> None:
    # A request sent to a group reaches the porch and the garage under one request_id: the
    # owner's approval for the garage, replayed on the porch, must not share the porch's clips.
    dev = make_device(policy="review")
    dev.core.handle_request(dev.request(server.url()))
    decision = decision_body("req-1", "approve", iso(T0 + 600), device_id="garage-cam")
    reply = dev.core.handle_decision(dev.owner.sign(decision))
    assert (reply.decision, reply.error) == ("refused", "signed for another device")
    unbound = {k: v for k, v in decision.items() if k != "device_id"}
    reply = dev.core.handle_decision(dev.owner.sign(unbound))
    assert reply.decision == "refused" and "device_id" in (reply.error or "")
    assert dev.core.get("req-1").state == "pending" and server.received == []  # type: ignore[union-attr]
    here = dev.core.handle_decision(dev.owner.sign({**decision, "device_id": "porch-cam"}))
    assert here.decision == "shared", here


def test_signed_bodies_are_bound_to_request_or_decision(
    make_device: Any, server: PutServer
) -> None:
    dev = make_device(policy="review")
    # One key trusted both ways (a small setup where the owner also asks for footage): its
    # decision is still no request, and its request no decision.
    both = dev.core
    both.trusted = KeyRing([dev.requester.public, dev.owner.public])
    decision = decision_body("req-1", "approve", iso(T0 + 600))
    as_request = both.handle_request(dev.owner.sign(decision))
    assert as_request.decision == "refused"
    assert "signed for 'footage_decision', not for 'footage_request'" in (as_request.error or "")
    request = dev.owner.sign(
        request_body("req-1", T0 - 3600, T0 - 600, T0 + 3600, server.url(), audience="porch-cam")
    )
    as_decision = both.handle_decision(request)
    assert "signed for 'footage_request', not for 'footage_decision'" in (as_decision.error or "")
    unnamed = {k: v for k, v in decision.items() if k != "command"}
    assert "signed for nothing" in (both.handle_decision(dev.owner.sign(unnamed)).error or "")
    assert both.in_states() == [] and server.received == []


def test_expired_decision_is_refused(make_device: Any, server: PutServer) -> None:
    dev = make_device(policy="review")
    dev.core.handle_request(dev.request(server.url()))
    decision = decision_body("req-1", "approve", iso(T0 + 60))
    dev.clock.now += 60  # the owner's signed approval is one minute old: its life is over
    reply = dev.core.handle_decision(dev.owner.sign(decision))
    assert (reply.ok, reply.decision, reply.error) == (False, "refused", "expired")
    assert dev.core.get("req-1").state == "pending" and server.received == []  # type: ignore[union-attr]


def test_no_approval_past_the_review_deadline(make_device: Any, server: PutServer) -> None:
    dev = make_device(policy="review", review_hours=1.0)
    dev.core.handle_request(dev.request(server.url()))
    dev.clock.now += 3601  # past the deadline, before anything called expire()
    late = dev.core.approve("req-1")
    assert (late.ok, late.error) == (False, "expired")
    assert dev.core.get("req-1").state == "expired" and server.received == []  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("policy", "decision"), [("decline", "declined"), ("unsubscribed", "unsubscribed")]
)
def test_decline_and_unsubscribed_share_nothing(
    make_device: Any, server: PutServer, policy: str, decision: str
) -> None:
    dev = make_device(policy=policy)
    reply = dev.core.handle_request(dev.request(server.url()))
    assert (reply.ok, reply.decision, reply.clips) == (True, decision, [])
    assert server.received == []


def test_window_with_no_clips(make_device: Any, server: PutServer) -> None:
    dev = make_device(policy="share_all")
    body = request_body("req-empty", T0 - 500, T0 - 100, T0 + 3600, server.url())
    reply = dev.core.handle_request(dev.requester.sign(body))
    assert (reply.ok, reply.decision, reply.clips) == (True, "shared", [])
    assert server.received == []


def _tampered(dev: Device, url: str) -> dict[str, Any]:
    body = dev.request(url)
    body["window"]["start"] = "2020-01-01T00:00:00Z"
    return body


def _unknown_key(dev: Device, url: str) -> dict[str, Any]:
    return Signer().sign(request_body("req-1", T0 - 3600, T0 - 600, T0 + 3600, url))


REFUSALS: dict[str, tuple[Any, str]] = {
    "unsigned": (
        lambda d, u: {k: v for k, v in d.request(u).items() if k != "signature"},
        "unsigned",
    ),
    "bad signature": (_tampered, "bad signature"),
    "unknown key": (_unknown_key, "bad signature"),
    "not base64": (lambda d, u: {**d.request(u), "signature": "%%%"}, "not base64"),
    "expired": (
        lambda d, u: d.requester.sign(request_body("req-1", T0 - 3600, T0 - 600, T0 - 1, u)),
        "expired",
    ),
    "missing field": (
        lambda d, u: d.requester.sign(
            {
                k: v
                for k, v in request_body("req-1", T0 - 3600, T0 - 600, T0 + 60, u).items()
                if k != "reason"
            }
        ),
        "malformed: reason",
    ),
    "extra field": (lambda d, u: d.request(u, location="14 Elm Street"), "malformed: location"),
    "bad kind": (
        lambda d, u: d.requester.sign(
            {
                **request_body("req-1", T0 - 3600, T0 - 600, T0 + 60, u),
                "requester": {"kind": "x", "name": "n"},
            }
        ),
        "malformed: requester.kind",
    ),
    "window too long": (
        lambda d, u: d.requester.sign(request_body("req-1", T0 - 90_000, T0 - 600, T0 + 60, u)),
        "window longer",
    ),
    "for another device": (lambda d, u: d.request(u, audience="garage"), "another device"),
    "ten-year expiry": (
        lambda d, u: d.requester.sign(
            request_body(
                "req-1", T0 - 3600, T0 - 600, T0 + 10 * 365 * 86400, u, audience=d.config.device.id
            )
        ),
        "expires more than 72 hours after issued_at",
    ),
    "window ends in the future": (
        lambda d, u: d.requester.sign(
            request_body("req-1", T0 - 3600, T0 + 600, T0 + 3600, u, audience=d.config.device.id)
        ),
        "window is in the future",
    ),
    "issued in the future": (
        lambda d, u: d.request(u, issued_at=iso(T0 + 3600)),
        "issued_at is in the future",
    ),
    "not JSON": (lambda d, u: b"{not json", "not JSON"),
    "deep nesting": (lambda d, u: b"[" * 10_000, "not JSON"),
    "nested 500 levels": (
        lambda d, u: b'{"reason": ' + b"[" * 500 + b"]" * 500 + b"}",
        "nested deeper than",
    ),
    "header injection": (
        lambda d, u: d.request(u, upload={"url": u, "headers": {"x-a": "1\r\nHost: evil"}}),
        "malformed: upload.headers",
    ),
    "url with spaces": (
        lambda d, u: d.request(u, upload={"url": u + " HTTP/1.1\r\nX: y"}),
        "malformed: upload.url",
    ),
    "not an object": (lambda d, u: b"[1, 2]", "not a JSON object"),
    "too large": (lambda d, u: json.dumps(d.request(u, reason="x" * 20_000)), "too large"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_change_nothing(make_device: Any, server: PutServer, case: str) -> None:
    dev = make_device(policy="share_all")
    build, reason = REFUSALS[case]
    reply = dev.core.handle_request(build(dev, server.url()))
    assert (reply.ok, reply.decision, reply.clips) == (False, "refused", [])
    assert reason in (reply.error or ""), reply.error
    assert server.received == []
    assert dev.core.in_states() == []
    # Counted, not written one by one: one entry a minute, once the minute is over.
    assert dev.audit_kinds() == []
    dev.clock.now += 60
    dev.core.poll()
    (entry,) = list(AuditLog.in_dir(dev.data_dir).entries())
    assert entry["kind"] == "refused" and entry["data"]["total"] == 1


def test_plain_http_and_local_hosts_refused_unless_allowed(
    make_device: Any, server: PutServer
) -> None:
    dev = make_device(policy="share_all", allow_insecure_upload=False)
    reply = dev.core.handle_request(dev.request(server.url()))
    assert not reply.ok and "https" in (reply.error or "")
    reply = dev.core.handle_request(dev.request("https://192.168.1.1/x", request_id="req-2"))
    assert not reply.ok and "public" in (reply.error or "")
    assert server.received == []


def test_replay_is_refused_even_after_a_restart(make_device: Any, server: PutServer) -> None:
    dev = make_device(policy="share_all")
    body = dev.request(server.url())
    assert dev.core.handle_request(body).decision == "shared"
    sent = len(server.received)
    dev.core.close()
    dev.core = dev.open()
    reply = dev.core.handle_request(body)
    assert (reply.ok, reply.decision) == (False, "refused")
    assert "replayed" in (reply.error or "")
    assert len(server.received) == sent


def test_undecided_requests_expire(make_device: Any, server: PutServer) -> None:
    dev = make_device(policy="review", review_hours=1.0)
    dev.core.handle_request(dev.request(server.url()))
    assert dev.core.poll() == []  # the reply went out with handle_request
    dev.clock.now += 3599
    assert dev.core.expire() == []
    dev.clock.now += 2
    [reply] = dev.core.expire()
    assert (reply.request_id, reply.decision) == ("req-1", "expired")
    late = dev.core.approve("req-1")
    assert not late.ok and server.received == []
    assert "request_expired" in dev.audit_kinds()


def test_cli_decisions_are_published_by_the_device_poll(
    make_device: Any, server: PutServer
) -> None:
    dev = make_device()
    dev.core.handle_request(dev.request(server.url()))
    cli = FootageRequests(
        dev.config, dev.data_dir, dev.index, clock=dev.clock, publishes_replies=False
    )
    assert cli.decline("req-1").decision == "declined"
    cli.close()
    [reply] = dev.core.poll()
    assert (reply.request_id, reply.decision) == ("req-1", "declined")
    assert dev.core.poll() == []


def test_reply_model_has_no_room_for_more() -> None:
    with pytest.raises(ValueError):
        RequestReply.model_validate(
            {"request_id": "x", "ok": True, "decision": "shared", "location": "14 Elm Street"}
        )


def test_registry_model_hands_the_signed_body_through_untouched(
    make_device: Any, server: PutServer
) -> None:
    from doorbell.uplink.requests.command_models import COMMANDS

    dev = make_device()
    payload = json.dumps(dev.request(server.url())).encode()
    body = COMMANDS["footage_request"].model_validate_json(payload)
    reply = dev.core.handle_request(body.root)
    assert (reply.ok, reply.decision) == (True, "pending_review")
    with pytest.raises(ValueError):
        COMMANDS["footage_request"].model_validate_json(b"[1]")
