"""Footage requests answered only with the owner's consent (docs/privacy.md)."""

from doorbell.uplink.requests.clips import ClipIndex, ClipLike, clips_in_window
from doorbell.uplink.requests.footage_requests import FootageRequests, result_payload
from doorbell.uplink.requests.models import (
    FootageDecision,
    FootageRequest,
    RequestReply,
    SharedClip,
    StoredRequest,
)
from doorbell.uplink.requests.signing import KeyRing, SignatureError, canonical_bytes, sign_body
from doorbell.uplink.requests.store import RequestStore
from doorbell.uplink.requests.uploader import HttpUploader, UploadError

__all__ = [
    "ClipIndex",
    "ClipLike",
    "FootageDecision",
    "FootageRequest",
    "FootageRequests",
    "HttpUploader",
    "KeyRing",
    "RequestReply",
    "RequestStore",
    "SharedClip",
    "SignatureError",
    "StoredRequest",
    "UploadError",
    "canonical_bytes",
    "clips_in_window",
    "result_payload",
    "sign_body",
]
