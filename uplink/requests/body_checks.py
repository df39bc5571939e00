"""What a signed footage request or owner's decision must hold before it is taken: the signature,
bound to what it authorises, and the request's audience, times, window and upload target; the
decision's device and expiry. Each failure is a `Refusal` whose words are safe to send back.
"""

from __future__ import annotations

from typing import Any

from doorbell.config.privacy import RequestsConfig
from doorbell.uplink.requests.models import FootageDecision, FootageRequest
from doorbell.uplink.requests.signing import KeyRing, SignatureError, bound_to
from doorbell.uplink.requests.untrusted_body import Refusal
from doorbell.uplink.requests.uploader import HttpUploader, UploadError

CLOCK_SKEW_SECONDS = 300.0  # a requester's clock may run this far ahead of ours


def verified(ring: KeyRing, body: dict[str, Any], command: str) -> str:
    """The signer's key id, once the signature holds and names `command` (a requester's
    request is never taken as a decision, nor a decision as a request)."""
    try:
        key_id = ring.verify(body)
        bound_to(body, command)
        return key_id
    except SignatureError as exc:
        raise Refusal(str(exc)) from None


def check_request(
    request: FootageRequest,
    now: float,
    device_id: str,
    cfg: RequestsConfig,
    uploader: HttpUploader,
) -> None:
    if request.audience != device_id and request.audience not in cfg.groups:
        raise Refusal("addressed to another device")
    if request.expires.timestamp() <= now:
        raise Refusal("expired")
    issued, expires = request.issued_at.timestamp(), request.expires.timestamp()
    if issued > now + CLOCK_SKEW_SECONDS:
        raise Refusal("issued_at is in the future")
    if expires - issued > cfg.max_expiry_hours * 3600:
        raise Refusal(f"expires more than {cfg.max_expiry_hours:g} hours after issued_at")
    window = request.window
    if window.end_wall - window.start_wall > cfg.max_window_hours * 3600:
        raise Refusal(f"window longer than {cfg.max_window_hours:g} hours")
    if window.end_wall > now:
        raise Refusal("window is in the future")
    try:
        uploader.check_target(request.upload.url)
    except UploadError as exc:
        raise Refusal(f"upload target refused: {exc}") from None


def check_decision(decision: FootageDecision, now: float, device_id: str) -> None:
    # A request sent to a group reaches several devices under one request_id: the owner's
    # approval for one of them must not share the others' footage.
    if decision.device_id != device_id:
        raise Refusal("signed for another device")
    if decision.expires.timestamp() <= now:
        raise Refusal("expired")
