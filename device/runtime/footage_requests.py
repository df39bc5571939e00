"""Footage requests on a running device: the two commands answered, uploads on their own worker,
and a poll that expires undecided requests, retries interrupted uploads and publishes decisions
made with `doorbell requests` from another process.

A decision only claims the request; its upload (up to `requests.upload_attempts` tries of
`upload_timeout_seconds` for each of up to `max_clips` clips) runs on the `uploads` thread, so the
command worker goes straight on to the next command (a mode change never waits behind footage).
The outcome is published on the result topic of the command that asked, once the clips are sent
(after faces, and the heads of people whose faces are not found, are filled in copies of them,
unless the owner decided otherwise, by a worker process at a lower priority than the camera:
device/redaction/worker.py). The worker stops with the device; its share is retried at the
next start.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from doorbell.config import DoorbellConfig
from doorbell.device.redaction import WORKER
from doorbell.device.redaction.people import people_problem, person_model
from doorbell.uplink.command_models import CommandReply
from doorbell.uplink.requests import ClipIndex, FootageRequests, RequestReply, result_payload
from doorbell.uplink.requests.audit import AuditLog
from doorbell.uplink.requests.clips import PendingUpload
from doorbell.uplink.requests.command_models import SignedBody
from doorbell.uplink.requests.face_model import model_problem
from doorbell.uplink.requests.redaction import ShareStopped, lower_priority
from doorbell.uplink.requests.redaction_worker import WorkerRedactor
from doorbell.uplink.uplink import Uplink

log = logging.getLogger(__name__)

POLL_SECONDS = 10.0


def command_reply(reply: RequestReply | None) -> CommandReply | None:
    """A footage reply as a command's reply, the same JSON fields; None: answered later."""
    return None if reply is None else CommandReply.model_validate(reply.model_dump(mode="json"))


class FootageService:
    def __init__(
        self,
        config: DoorbellConfig,
        data_dir: Path,
        index: ClipIndex,
        uplink: Uplink,
        audit: AuditLog,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock`: wall time (injected), for deadlines, expiry and the windows of requests."""
        # Unbounded but small: one entry per approved request, and a claimed request that is
        # never uploaded (a crash) is retried at the next start.
        self._uploads: queue.Queue[PendingUpload | None] = queue.Queue()
        # faces, and heads where no face is found
        self.redactor = WorkerRedactor(module=WORKER, people_model=person_model())
        self.requests = FootageRequests(
            config,
            data_dir,
            index,
            audit=audit,
            clock=clock,
            upload_later=self._uploads.put,
            redactor=self.redactor,
        )
        self._redact = config.requests.redact
        self.uplink = uplink
        self.audit = audit
        self._head: str | None = None  # the audit head last published
        self._threads = [
            threading.Thread(target=self._upload, name="uploads", daemon=True),
            threading.Thread(target=self._poll, name="footage-requests", daemon=True),
        ]
        self._stop = threading.Event()

    def handle_request(self, body: SignedBody) -> CommandReply | None:
        return command_reply(self.requests.handle_request(body.root))

    def handle_decision(self, body: SignedBody) -> CommandReply | None:
        return command_reply(self.requests.handle_decision(body.root))

    def start(self, stop: threading.Event) -> None:
        if self._redact == "faces" and (problem := model_problem()) is not None:
            log.warning(
                "footage requests: faces cannot be filled (%s): a share will fail rather than "
                "send faces (requests.redact: none, or approve --no-redact, shares as recorded)",
                problem,
            )
        elif self._redact == "faces" and (problem := people_problem()) is not None:
            log.warning(
                "footage requests: faces are filled but not the heads of people whose faces "
                "are not found (%s)",
                problem,
            )
        self._stop = stop
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float) -> None:
        """After the stop event given to `start` is set. A redaction worker still running is
        ended (its share stays `sharing`); an upload still running is left to its daemon
        thread, its request `sharing` too; both are retried at the next start."""
        self.redactor.stop()
        self._uploads.put(None)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)
        self.requests.close()  # writes the refusals counted in the last minute

    def _publish(self, reply: RequestReply, name: str = "footage_request") -> None:
        self.uplink.send_result(name, result_payload(reply))

    def _upload(self) -> None:
        # Encrypting and sending clips yields to the camera, which runs at normal priority (faces
        # are filled in a worker process of its own, nicer still: redaction_worker.py).
        lower_priority()
        while (job := self._uploads.get()) is not None:
            try:
                self._publish(self.requests.upload(job), job.reply_to)
            except ShareStopped:
                log.info(
                    "share of %s stopped with the device: retried at the next start",
                    job.request.request_id,
                )
            except Exception:  # one broken upload must not end the others
                log.exception("upload for %s failed", job.request.request_id)

    def _poll(self) -> None:
        for reply in self.requests.retry_uploads():  # queued for the upload worker
            self._publish(reply)
        self._publish_audit_head()
        while not self._stop.wait(POLL_SECONDS):
            try:
                for reply in self.requests.poll():
                    self._publish(reply)
                self._publish_audit_head()
            except Exception:  # a broken request must not stop the device
                log.exception("footage request poll failed")

    def _publish_audit_head(self) -> None:
        """Entries the device writes publish their head at once (AuditLog.on_append); this
        catches those `doorbell requests` wrote from another process."""
        head = self.audit.newest()
        if head is not None and head.hash != self._head:
            self._head = head.hash
            self.uplink.publish_audit_head(head)
