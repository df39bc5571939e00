"""What crosses the boundary: footage requests and owner decisions in, replies out.

Replies are built only from `RequestReply`/`SharedClip` (extra="forbid"): there is no field for a
location, an owner, an address or anything outside the requested window, so none can slip in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from doorbell.uplink.requests.person_pass import Heads, HeadsReason, PersonWeights

RequestId = str
REQUEST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requester(_Strict):
    kind: Literal["police", "neighbor", "service"]
    name: str = Field(min_length=1, max_length=128)
    case: str | None = Field(None, max_length=128)


class Window(_Strict):
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("window.end must be after window.start")
        return self

    @property
    def start_wall(self) -> float:
        return self.start.timestamp()

    @property
    def end_wall(self) -> float:
        return self.end.timestamp()


HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")]
HeaderValue = Annotated[str, StringConstraints(pattern=r"^[\x20-\x7e]{0,1024}$")]


class UploadTarget(_Strict):
    url: str = Field(min_length=8, max_length=4096, pattern=r"^https?://[\x21-\x7e]+$")
    method: Literal["PUT"] = "PUT"
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict, max_length=32)


class FootageRequest(_Strict):
    """`cmd/footage_request`, signed by a key in `requests.trusted_keys`."""

    # What the signature authorises; the device refuses a body that does not name it before it
    # gets here (the default reads requests stored before the field existed).
    command: Literal["footage_request"] = "footage_request"

    request_id: RequestId = Field(pattern=REQUEST_ID_PATTERN)
    audience: str = Field(min_length=1, max_length=64, description="a device id or group id")
    requester: Requester
    window: Window
    reason: str = Field(min_length=1, max_length=1000)
    issued_at: AwareDatetime
    expires: AwareDatetime
    upload: UploadTarget
    key_id: str | None = Field(None, max_length=128)
    signature: str = Field(min_length=1, max_length=256)


RedactMode = Literal["faces", "none"]


class FootageDecision(_Strict):
    """`cmd/footage_decision` from the owner's app, signed by a key in `requests.owner_keys`."""

    command: Literal["footage_decision"] = "footage_decision"  # as FootageRequest.command
    # The device it decides for: a request sent to a group reaches several devices under one
    # request_id, and the owner's approval for one of them must not share the others' footage.
    device_id: str = Field(min_length=1, max_length=128)

    request_id: RequestId = Field(pattern=REQUEST_ID_PATTERN)
    decision: Literal["approve", "decline"]
    clips: list[str] | None = Field(None, max_length=1000, description="None = every clip")
    redact: RedactMode | None = Field(
        None, description="for this request only; None = the device's `requests.redact`"
    )
    expires: AwareDatetime
    key_id: str | None = Field(None, max_length=128)
    signature: str = Field(min_length=1, max_length=256)


Decision = Literal[
    "shared",  # clips uploaded
    "pending_review",  # queued for the owner
    "declined",
    "unsubscribed",  # this device takes no requests
    "expired",  # undecided until the deadline
    "refused",  # invalid request or decision: nothing happened
    "upload_failed",  # approved, but the upload did not complete (retried later)
]


# What a requester is told when an upload does not go: nothing of why. A connection error's text
# ("Connection refused" to 192.168.1.20:8080) would make the device a port scanner of the owner's
# LAN for whoever writes the upload URL; the owner sees the reason (`doorbell requests show`).
UPLOAD_FAILED = "upload failed; the device will try again until the request expires"


class SharedClip(_Strict):
    id: str
    seconds: float
    bytes: int
    sha256: str  # of the clip as recorded (before any encryption)
    snapshot_sha256: str | None = None


class Redaction(_Strict):
    """What was done to the footage before it left: `faces` (every face found filled with one
    colour, by the face model of this SHA-256) or `none` (shared as recorded).

    With `faces`, once shared, what the share worker's person pass did: `heads` `covered` (the
    heads of people whose faces were not found filled too, people found by the person model
    file of `person_model_sha256`, its `person_model_weights` int8 or fp16: the one it actually
    loaded) or `not_covered` (`heads_reason` says why). None: not shared yet, `none`, or a
    record made before these fields existed."""

    method: RedactMode
    model_sha256: str | None = None
    heads: Heads | None = None
    person_model_sha256: str | None = None
    person_model_weights: PersonWeights | None = None
    heads_reason: HeadsReason | None = None


class RequestReply(_Strict):
    """The body of `cmd/footage_request/result` (and of `cmd/footage_decision/result`)."""

    request_id: str | None
    ok: bool
    error: str | None = None
    decision: Decision
    clips: list[SharedClip] = Field(default_factory=list)
    encrypted: bool = False
    redaction: Redaction | None = None  # with `shared`


class StoredRequest(_Strict):
    """A request as the device keeps it, for `doorbell requests list|show`."""

    request: FootageRequest
    state: Literal["pending", "shared", "declined", "expired", "upload_failed", "sharing"]
    received_at: datetime
    deadline: datetime
    decided_at: datetime | None = None
    clips: list[SharedClip] = Field(default_factory=list)
    error: str | None = None
    redaction: Redaction | None = None  # decided when approved, done when shared

    def reply(self, encrypted: bool) -> RequestReply:
        """The reply this request's state stands for (a share still going counts as failed
        until it is done: that is what a restart would find)."""
        decision: Decision = {
            "pending": "pending_review",
            "sharing": "upload_failed",
            "upload_failed": "upload_failed",
            "shared": "shared",
            "declined": "declined",
            "expired": "expired",
        }[self.state]  # type: ignore[assignment]
        ok = decision != "upload_failed"
        clips = self.clips if decision == "shared" else []
        return RequestReply(
            request_id=self.request.request_id,
            ok=ok,
            error=UPLOAD_FAILED if not ok else None,
            decision=decision,
            clips=clips,
            encrypted=encrypted and bool(clips),
            redaction=self.redaction if decision == "shared" else None,
        )
