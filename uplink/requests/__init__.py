"""Footage requests answered only with the owner's consent (docs/privacy.md).

The names below are loaded when first asked for: the share's redaction worker imports
`doorbell.uplink.requests.redaction_worker`, and with it this package, in a process of its own
whose private memory counts against the device (issue 30); the request machinery's pydantic
models, SQLite store, signing and uploader were 14 MB of it, and the worker uses none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doorbell.uplink.requests.clips import ClipIndex, ClipLike, clips_in_window
    from doorbell.uplink.requests.footage_requests import FootageRequests, result_payload
    from doorbell.uplink.requests.models import (
        FootageDecision,
        FootageRequest,
        RequestReply,
        SharedClip,
        StoredRequest,
    )
    from doorbell.uplink.requests.signing import (
        KeyRing,
        SignatureError,
        canonical_bytes,
        sign_body,
    )
    from doorbell.uplink.requests.store import RequestStore
    from doorbell.uplink.requests.uploader import HttpUploader, UploadError

_MODULE_OF = {
    "ClipIndex": "clips",
    "ClipLike": "clips",
    "clips_in_window": "clips",
    "FootageRequests": "footage_requests",
    "result_payload": "footage_requests",
    "FootageDecision": "models",
    "FootageRequest": "models",
    "RequestReply": "models",
    "SharedClip": "models",
    "StoredRequest": "models",
    "KeyRing": "signing",
    "SignatureError": "signing",
    "canonical_bytes": "signing",
    "sign_body": "signing",
    "RequestStore": "store",
    "HttpUploader": "uploader",
    "UploadError": "uploader",
}

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


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # asked once
    return value
