"""Footage requests answered only with the owner's consent (docs/privacy.md)."""

from uplink.requests.clips import ClipIndex, ClipLike, clips_in_window
from uplink.requests.footage_requests import FootageRequests, result_payload
from uplink.requests.models import (
    FootageDecision,
    FootageRequest,
    RequestReply,
    SharedClip,
    StoredRequest,
)
from uplink.requests.signing import KeyRing, SignatureError, canonical_bytes, sign_body
from uplink.requests.store import RequestStore
from uplink.requests.uploader import HttpUploader, UploadError

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
