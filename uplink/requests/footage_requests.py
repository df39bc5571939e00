"""The owner's consent, enforced: footage requests are verified, decided by policy or by the
owner, shared (only clips inside the window), audited, and answered with an allow-listed reply.

Plain class, no MQTT: the runtime passes command bodies in and publishes the replies it gets back
(`result_payload`), so everything here is testable without a broker.

A decision to share only claims the request (state `sharing`, the clips chosen): the upload is a
`PendingUpload`, run at once in the caller's thread (the CLI) or, given `upload_later`, handed to
the device's upload worker, so a slow upload never holds up the command that approved it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from doorbell.config import DoorbellConfig
from doorbell.config.data_dir import DataDir
from doorbell.uplink.e2e import AgeEncryptor
from doorbell.uplink.replay_guard import ReplayGuard
from doorbell.uplink.requests.audit import AuditLog, RefusalTally, request_entry
from doorbell.uplink.requests.body_checks import check_decision, check_request, verified
from doorbell.uplink.requests.clips import (
    ClipIndex,
    ClipLike,
    PendingUpload,
    clips_in_window,
    planned_clips,
)
from doorbell.uplink.requests.models import (
    UPLOAD_FAILED,
    Decision,
    FootageDecision,
    FootageRequest,
    Redaction,
    RedactMode,
    RequestReply,
    SharedClip,
    StoredRequest,
)
from doorbell.uplink.requests.redaction import FileRedactor
from doorbell.uplink.requests.share import ShareJob
from doorbell.uplink.requests.signing import KeyRing
from doorbell.uplink.requests.store import RequestStore
from doorbell.uplink.requests.untrusted_body import Refusal, first_error, parse_body, safe_id
from doorbell.uplink.requests.uploader import HttpUploader, UploadError

log = logging.getLogger(__name__)


SEEN_REQUEST = "footage-request"  # the kind of id ReplayGuard keeps for requests


def result_payload(reply: RequestReply) -> bytes:
    """What to publish on `cmd/footage_request/result` (or `cmd/footage_decision/result`)."""
    return reply.model_dump_json().encode()


class FootageRequests:
    def __init__(
        self,
        config: DoorbellConfig,
        data_dir: Path,
        index: ClipIndex | None,
        uploader: HttpUploader | None = None,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
        publishes_replies: bool = True,
        upload_later: Callable[[PendingUpload], None] | None = None,
        redactor: FileRedactor | None = None,
    ) -> None:
        """`publishes_replies=False` for the CLI: its decisions are published later by the
        device's `poll()`, which sees them as not announced yet. `upload_later`: where claimed
        uploads go (the device's upload worker); without it they run in the calling thread.
        `redactor`: what fills faces in shared footage (the packaged face model by default)."""
        cfg = config.requests
        self.publishes_replies = publishes_replies
        self.upload_later = upload_later
        self.cfg = cfg
        self.data_dir = data_dir
        self.index = index
        self.clock = clock
        self.trusted = KeyRing(cfg.trusted_keys)
        self.owners = KeyRing(cfg.owner_keys)
        self.encryptor = AgeEncryptor(config.privacy.e2e.recipients)
        self.uploader = uploader or HttpUploader(
            attempts=cfg.upload_attempts,
            timeout=cfg.upload_timeout_seconds,
            backoff=cfg.upload_backoff_seconds,
            allow_insecure=cfg.allow_insecure_upload,
            proxy=cfg.upload_proxy,
        )
        self.audit = audit or AuditLog.in_dir(data_dir, clock, config.audit.max_bytes)
        self.refusals = RefusalTally(self.audit, clock)
        self.store = RequestStore.in_dir(data_dir)
        self.seen = ReplayGuard(DataDir(data_dir).replay_guard)
        self.device_id = config.device.id
        self.share = ShareJob(data_dir, self.encryptor, self.uploader, self.store, redactor)

    def close(self) -> None:
        self.refusals.flush(force=True)
        self.store.close()
        self.seen.close()

    # --- incoming commands ---------------------------------------------------------------
    def handle_request(self, raw: dict[str, Any] | bytes | str) -> RequestReply | None:
        """`cmd/footage_request`: verify, then apply `requests.policy`. None: the reply comes
        from the upload worker once the clips are sent."""
        body: Any = raw
        try:
            body = parse_body(raw, self.cfg.max_request_bytes)
            key_id = verified(self.trusted, body, "footage_request")
            request = FootageRequest.model_validate(body)
            now = self.clock()
            check_request(request, now, self.device_id, self.cfg, self.uploader)
            # Claimed only once the signature and the checks pass: garbage sent under a real
            # request's id cannot burn it, and a refused request can be sent again mended.
            if not self.seen.claim(SEEN_REQUEST, request.request_id, now):
                raise Refusal("replayed: this request_id was seen before")
        except Refusal as exc:
            return self._refuse("request_refused", body, str(exc))
        except ValidationError as exc:
            return self._refuse("request_refused", body, f"malformed: {first_error(exc)}")
        return self._apply_policy(request, key_id, now)

    def handle_decision(self, raw: dict[str, Any] | bytes | str) -> RequestReply | None:
        """`cmd/footage_decision` from the owner's app. None: the reply comes from the upload
        worker once the clips are sent."""
        body: Any = raw
        try:
            body = parse_body(raw, self.cfg.max_request_bytes)
            key_id = verified(self.owners, body, "footage_decision")
            decision = FootageDecision.model_validate(body)
            check_decision(decision, self.clock(), self.device_id)
        except Refusal as exc:
            return self._refuse("decision_refused", body, str(exc))
        except ValidationError as exc:
            return self._refuse("decision_refused", body, f"malformed: {first_error(exc)}")
        by = f"owner-key:{key_id}"
        if decision.decision == "decline":
            return self.decline(decision.request_id, by=by)
        claimed = self._claim(
            decision.request_id, decision.clips, by, "footage_decision", decision.redact
        )
        return claimed if isinstance(claimed, RequestReply) else self._upload_or_defer(claimed)

    # --- the owner's decisions (CLI and app) ----------------------------------------------
    def approve(
        self,
        request_id: str,
        clips: Sequence[str] | None = None,
        by: str = "device",
        redact: RedactMode | None = None,
    ) -> RequestReply:
        """Share now, in this thread (the CLI). `redact`: the owner's choice for this request
        (None: `requests.redact`)."""
        claimed = self._claim(request_id, clips, by, "footage_decision", redact)
        return claimed if isinstance(claimed, RequestReply) else self.upload(claimed)

    def approve_on_device(
        self,
        request_id: str,
        clips: Sequence[str] | None = None,
        by: str = "device",
        redact: RedactMode | None = None,
    ) -> RequestReply | None:
        """An approval made on the running device (its local page): the upload goes to the
        uploads worker like an app's decision. None: claimed, the worker answers."""
        claimed = self._claim(request_id, clips, by, "footage_decision", redact)
        return claimed if isinstance(claimed, RequestReply) else self._upload_or_defer(claimed)

    def _claim(
        self,
        request_id: str,
        clips: Sequence[str] | None,
        by: str,
        reply_to: str,
        redact: RedactMode | None = None,
    ) -> RequestReply | PendingUpload:
        """An approval: the request is claimed for sharing, or the refusal to reply."""
        stored = self.store.get(request_id)
        if stored is None:
            return self._refuse("decision_refused", {"request_id": request_id}, "unknown request")
        if stored.deadline.timestamp() <= self.clock() and stored.state == "pending":
            self.expire()
            return self._refuse("decision_refused", {"request_id": request_id}, "expired")
        chosen = self.matching_clips(request_id)
        if clips is not None:
            wanted = set(clips)
            unknown = wanted - {str(c.id) for c in chosen}
            if unknown:
                reason = f"not clips of this request's window: {', '.join(sorted(unknown))}"
                return self._refuse("decision_refused", {"request_id": request_id}, reason)
            chosen = [c for c in chosen if str(c.id) in wanted]
        if not self.store.claim(request_id, ("pending", "upload_failed"), "sharing"):
            reason = f"not pending (it is {stored.state})"
            return self._refuse("decision_refused", {"request_id": request_id}, reason)
        mode = redact or self.cfg.redact
        clip_ids = [str(c.id) for c in chosen]
        self._audit("request_approved", stored.request, by=by, clips=clip_ids, redact=mode)
        return self._plan(stored.request, chosen[: self.cfg.max_clips], reply_to, mode)

    def decline(self, request_id: str, by: str = "device") -> RequestReply:
        stored = self.store.get(request_id)
        if stored is None:
            return self._refuse("decision_refused", {"request_id": request_id}, "unknown request")
        if not self.store.claim(request_id, ("pending",), "declined"):
            reason = f"not pending (it is {stored.state})"
            return self._refuse("decision_refused", {"request_id": request_id}, reason)
        self.store.update(request_id, "declined", decided_at=self.clock())
        self._audit("request_declined", stored.request, by=by)
        return self._reply(stored.request.request_id, "declined")

    # --- housekeeping for the runtime ---------------------------------------------------
    def expire(self) -> list[RequestReply]:
        """Undecided requests past their deadline become `expired`; their replies to publish."""
        replies = []
        for stored in self.store.overdue(self.clock()):
            if self.store.claim(stored.request.request_id, ("pending",), "expired"):
                self.store.update(stored.request.request_id, "expired", decided_at=self.clock())
                self._audit("request_expired", stored.request, by="device")
                replies.append(self._reply(stored.request.request_id, "expired"))
        return replies

    def retry_uploads(self) -> list[RequestReply]:
        """Shares interrupted by a failure or a restart: send the files still missing."""
        replies = []
        for stored in self.store.in_states(("sharing", "upload_failed")):
            if stored.request.expires.timestamp() <= self.clock():
                continue  # the presigned URL is dead by now; leave it as it is
            request_id = stored.request.request_id
            if self.store.claim(request_id, ("sharing", "upload_failed"), "sharing"):
                ids = {c.id for c in stored.clips}
                chosen = [c for c in self.matching_clips(request_id) if str(c.id) in ids]
                # as decided when approved (a store from before redaction: the config's)
                mode = stored.redaction.method if stored.redaction else self.cfg.redact
                plan = self._plan(stored.request, chosen, "footage_request", mode)
                reply = self._upload_or_defer(plan)
                if reply is not None:
                    replies.append(reply)
        return replies

    def poll(self) -> list[RequestReply]:
        """Call every few seconds from the runtime: expires overdue requests and returns every
        reply not published yet (including decisions made with `doorbell requests` in another
        process). Publish each with `result_payload` on `cmd/footage_request/result`."""
        self.expire()
        self.refusals.flush()
        replies = []
        for stored in self.store.unannounced():
            replies.append(self._stored_reply(stored))
            self.store.set_announced(stored.request.request_id, True)
        return replies

    # --- queries for the CLI -------------------------------------------------------------
    def in_states(self, states: tuple[str, ...] = ()) -> list[StoredRequest]:
        return self.store.in_states(states)

    def get(self, request_id: str) -> StoredRequest | None:
        return self.store.get(request_id)

    def matching_clips(self, request_id: str) -> list[ClipLike]:
        stored = self.store.get(request_id)
        if stored is None:
            return []
        if self.index is None:
            raise RuntimeError("no clip index to look clips up in")
        window = stored.request.window
        clips = clips_in_window(self.index, window.start_wall, window.end_wall)
        return sorted(clips, key=lambda c: c.start_wall)

    # --- inside ---------------------------------------------------------------------------
    def _apply_policy(
        self, request: FootageRequest, key_id: str, now: float
    ) -> RequestReply | None:
        policy = self.cfg.policy
        self._audit("request_received", request, by=f"requester-key:{key_id}", policy=policy)
        if policy == "unsubscribed":
            return self._reply(request.request_id, "unsubscribed")
        deadline = min(request.expires.timestamp(), now + self.cfg.review_hours * 3600)
        state = {"decline": "declined", "review": "pending", "share_all": "sharing"}[policy]
        self.store.add(request, state, received_at=now, deadline=deadline)
        if policy == "decline":
            self.store.update(request.request_id, "declined", decided_at=now)
            self._audit("request_declined", request, by="policy")
            return self._reply(request.request_id, "declined")
        if policy == "review":
            self._audit("request_queued", request, by="policy")
            return self._reply(request.request_id, "pending_review")
        chosen = self.matching_clips(request.request_id)[: self.cfg.max_clips]
        mode = self.cfg.redact
        clip_ids = [str(c.id) for c in chosen]
        self._audit("request_approved", request, by="policy", clips=clip_ids, redact=mode)
        return self._upload_or_defer(self._plan(request, chosen, "footage_request", mode))

    def _plan(
        self,
        request: FootageRequest,
        clips: Sequence[ClipLike],
        reply_to: str,
        redact: RedactMode,
    ) -> PendingUpload:
        """Record which clips a claimed request will share, and how; the upload is to come."""
        planned = planned_clips(clips)
        self.store.update(request.request_id, "sharing", decided_at=self.clock(), clips=planned)
        self.store.set_redaction(request.request_id, self.share.redaction(redact))
        return PendingUpload(request, tuple(clips), reply_to, redact)

    def _upload_or_defer(self, job: PendingUpload) -> RequestReply | None:
        if self.upload_later is None:
            return self.upload(job)
        self.store.set_announced(job.request.request_id, True)  # the worker will answer it
        self.upload_later(job)
        return None

    def upload(self, job: PendingUpload) -> RequestReply:
        """Send a claimed request's clips; the reply says `shared` or `upload_failed`."""
        request, clips, request_id = job.request, job.clips, job.request.request_id
        planned = planned_clips(clips)
        try:
            shared, redaction = self.share.run(request, clips, job.redact)
        except UploadError as exc:
            self.store.update(request_id, "upload_failed", clips=planned, error=str(exc))
            self._audit("upload_failed", request, by="device", error=str(exc))
            return self._reply(request_id, "upload_failed", ok=False, error=UPLOAD_FAILED)
        self.store.set_redaction(request_id, redaction)  # as done: the person model named
        self.store.update(request_id, "shared", clips=shared)
        self._audit(
            "request_shared",
            request,
            by="device",
            clips=[
                {"id": c.id, "sha256": c.sha256, "snapshot_sha256": c.snapshot_sha256}
                for c in shared
            ],
            encrypted=self.encryptor.enabled,
            redaction=redaction.model_dump(),
        )
        return self._reply(request_id, "shared", clips=shared, redaction=redaction)

    def _reply(
        self,
        request_id: str | None,
        decision: Decision,
        ok: bool = True,
        error: str | None = None,
        clips: list[SharedClip] | None = None,
        redaction: Redaction | None = None,
    ) -> RequestReply:
        if request_id is not None and self.store.get(request_id) is not None:
            self.store.set_announced(request_id, self.publishes_replies)
        return RequestReply(
            request_id=request_id,
            ok=ok,
            error=error,
            decision=decision,
            clips=clips or [],
            encrypted=self.encryptor.enabled and bool(clips),
            redaction=redaction,
        )

    def _stored_reply(self, stored: StoredRequest) -> RequestReply:
        return stored.reply(encrypted=self.encryptor.enabled)

    def _refuse(self, kind: str, body: Any, reason: str) -> RequestReply:
        request_id = safe_id(body)
        log.warning("footage %s %s: %s", kind.split("_")[0], request_id or "(no id)", reason)
        self.refusals.add(kind, reason)
        return RequestReply(request_id=request_id, ok=False, error=reason, decision="refused")

    def _audit(self, kind: str, request: FootageRequest, by: str, **extra: Any) -> None:
        self.audit.append(kind, request_entry(request, by, **extra))
