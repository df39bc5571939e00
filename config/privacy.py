"""`privacy:` and `requests:` sections: masks, encryption and the owner's consent policy.

Key formats (see docs/privacy.md): age recipients are `age1...` X25519 public keys as printed by
`age-keygen -y`; Ed25519 keys are base64 (standard alphabet, padded) of the raw 32-byte public key.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from doorbell.config.base import NamedPolygon, Section, Switch

_AGE_RECIPIENT = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")


def _check_age_recipient(value: str) -> str:
    value = value.strip()
    if not _AGE_RECIPIENT.match(value):
        raise ValueError("not an age X25519 recipient (age1 followed by 58 bech32 characters)")
    return value


def _check_ed25519_key(value: str) -> str:
    value = value.strip()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64 (expected a raw 32-byte Ed25519 public key)") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, this one is {len(raw)}")
    return value


AgeRecipient = Annotated[str, AfterValidator(_check_age_recipient)]
Ed25519Key = Annotated[str, AfterValidator(_check_ed25519_key)]


class E2EConfig(Section):
    recipients: list[AgeRecipient] = Field(
        default_factory=list,
        max_length=32,
        description="age X25519 public keys (age1...); when set, everything that leaves the "
        "device (uploads, MQTT snapshots) is encrypted to them",
    )
    at_rest: Switch = Field(False, description="also store clips encrypted on the device")


class PrivacyConfig(Section):
    masks: list[NamedPolygon] = Field(
        default_factory=list, description="blacked out in every stored or sent image"
    )
    e2e: E2EConfig = E2EConfig()


GroupId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class RequestsConfig(Section):
    policy: Literal["share_all", "review", "decline", "unsubscribed"] = Field(
        "review", description="what to do with a valid footage request"
    )
    trusted_keys: list[Ed25519Key] = Field(
        default_factory=list,
        max_length=64,
        description="base64 raw Ed25519 public keys of requesters",
    )
    owner_keys: list[Ed25519Key] = Field(
        default_factory=list,
        max_length=16,
        description="base64 raw Ed25519 public keys of the owner's app (signs decisions)",
    )
    groups: list[GroupId] = Field(
        default_factory=list,
        max_length=16,
        description="group ids a request may name as its audience besides this device's id",
    )
    max_expiry_hours: float = Field(
        72.0, gt=0.0, le=24.0 * 31, description="refuse requests valid longer after issued_at"
    )
    review_hours: float = Field(
        72.0, gt=0.0, le=24.0 * 90, description="undecided requests expire after this"
    )
    max_window_hours: float = Field(
        24.0, gt=0.0, le=24.0 * 31, description="refuse requests asking for a longer window"
    )
    max_clips: int = Field(50, ge=1, le=1000, description="most clips shared for one request")
    redact: Literal["faces", "none"] = Field(
        "faces",
        description="faces: every face in shared footage is filled with one colour before it "
        "leaves (a share fails rather than go unredacted); none: shared as recorded. The owner "
        "can decide otherwise for one request",
    )
    max_request_bytes: int = Field(
        16 * 1024, ge=1024, le=1024 * 1024, description="larger request bodies are refused"
    )
    upload_attempts: int = Field(5, ge=1, le=50, description="tries per file before giving up")
    upload_timeout_seconds: float = Field(
        60.0, ge=1.0, le=3600.0, description="socket timeout of one upload attempt"
    )
    upload_backoff_seconds: float = Field(
        2.0, ge=0.0, le=600.0, description="first wait between attempts, doubled each time"
    )
    upload_proxy: str | None = Field(
        None,
        pattern=r"^http://[A-Za-z0-9.:\[\]-]+:[0-9]{1,5}$",
        description="http://HOST:PORT of a proxy taking CONNECT: uploads go through it, so the "
        "requester sees the proxy's address instead of the home's",
    )
    allow_insecure_upload: Switch = Field(
        False,
        description="accept http:// and loopback/private upload hosts (testing only; "
        "otherwise https:// to a public host)",
    )


class AuditConfig(Section):
    """`audit:` the hash-chained log of requests, decisions and the owner's commands."""

    max_bytes: int = Field(
        16 * 1024 * 1024,
        ge=64 * 1024,
        le=1024 * 1024 * 1024,
        description="disk the audit log may use; the oldest of its four segments goes first",
    )
