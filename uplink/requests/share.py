"""Sending the chosen clips of one request: prepare the files (age-encrypted when recipients are
configured), PUT each one, and remember each finished file so a retry sends only the rest.

Faces are filled first (`requests.redact: faces`, or the owner's choice for the request): the
files sent are redacted copies made in the share's folder, never the owner's own clips; footage
that cannot be redacted (no face model, a clip stored encrypted) is not sent at all. What the
worker's person pass did (`PersonPass`) is kept beside the copies, so a retry that sends them
says the same as the attempt that made them.

Two upload shapes (docs/privacy.md):
- the URL contains `{name}`: one PUT per file, `{name}` replaced by the file name
  (`<clip id>.mp4`, `<clip id>.jpg`, plus `.age` when encrypted);
- otherwise (a single presigned URL): one PUT of a tar holding `manifest.json` and the files,
  `bundle.tar` (`bundle.tar.age` encrypted as a whole).
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from pydantic import BaseModel

from doorbell.config.data_dir import DataDir
from doorbell.uplink.e2e import AgeEncryptor, is_age_file
from doorbell.uplink.requests.clips import ClipLike
from doorbell.uplink.requests.face_model import MODEL_SHA256
from doorbell.uplink.requests.file_digest import file_sha256
from doorbell.uplink.requests.models import FootageRequest, Redaction, RedactMode, SharedClip
from doorbell.uplink.requests.person_pass import PersonPass
from doorbell.uplink.requests.redaction import FileRedactor, RedactionError
from doorbell.uplink.requests.redaction_worker import WorkerRedactor
from doorbell.uplink.requests.store import RequestStore
from doorbell.uplink.requests.uploader import HttpUploader, UploadError

if TYPE_CHECKING:
    import tarfile


@dataclass(frozen=True)
class OutgoingFile:
    name: str
    path: Path
    sha256: str  # of the bytes sent


def shared_clip(data_dir: Path, clip: ClipLike) -> SharedClip:
    snapshot = data_dir / clip.snapshot if clip.snapshot else None
    snap_sha = file_sha256(snapshot) if snapshot is not None and snapshot.is_file() else None
    return SharedClip(
        id=str(clip.id),
        seconds=round(float(clip.seconds), 3),
        bytes=int(clip.bytes),
        sha256=clip.sha256,
        snapshot_sha256=snap_sha,
    )


class ShareRecord(BaseModel):
    """Written first into a share's folder, so retention knows which clips the folder copies
    (a deleted clip takes its copies with it) and when nobody can take it any more."""

    request_id: str
    clip_ids: list[str]
    expires: float  # wall time: the presigned URL is dead after it


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # tar records the file owner's user name: the device's account says nothing to a requester
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644
    return info


def _sent_name(name: str, source: Path) -> str:
    # Stored encrypted at rest: it goes as it is, and its name says what it is.
    return f"{name}.age" if is_age_file(source) else name


class ShareJob:
    def __init__(
        self,
        data_dir: Path,
        encryptor: AgeEncryptor,
        uploader: HttpUploader,
        store: RequestStore,
        redactor: FileRedactor | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.encryptor = encryptor
        self.uploader = uploader
        self.store = store
        self.redactor = redactor or WorkerRedactor()

    def workdir(self, request_id: str) -> Path:
        return DataDir(self.data_dir).share(request_id)

    def run(
        self, request: FootageRequest, clips: Sequence[ClipLike], redact: RedactMode = "faces"
    ) -> tuple[list[SharedClip], Redaction]:
        """Uploads what is not uploaded yet; returns the clips and what was done to them (the
        redaction as done, person model and all). Raises UploadError when a file does not go (a
        permanent one when the footage cannot be redacted as decided). The
        folder of copies goes once everything is sent or the share cannot succeed (a
        permanent error); after a passing failure it stays for the retry (retention drops it
        once the request has expired). ShareStopped (the device is stopping) goes through: the
        request stays `sharing`, its folder too, retried at the next start."""
        try:
            shared, redaction = self._send(request, clips, redact)
        except RedactionError as exc:
            shutil.rmtree(self.workdir(request.request_id), ignore_errors=True)
            reason = f"{exc}; approve with --no-redact to share as recorded"
            raise UploadError(reason, permanent=True) from None
        except UploadError as exc:
            if exc.permanent:
                shutil.rmtree(self.workdir(request.request_id), ignore_errors=True)
            raise
        finally:
            self.redactor.release()
        shutil.rmtree(self.workdir(request.request_id), ignore_errors=True)
        return shared, redaction

    def redaction(self, redact: RedactMode, people: PersonPass | None = None) -> Redaction:
        """What a share with this choice does (decided), or did (`people`: what the worker's
        person pass did, once the files are redacted), as the reply, manifest and audit say it."""
        if redact != "faces":
            return Redaction(method=redact)
        done = people.to_json() if people is not None else {}
        return Redaction(method=redact, model_sha256=MODEL_SHA256, **done)

    def _send(
        self, request: FootageRequest, clips: Sequence[ClipLike], redact: RedactMode
    ) -> tuple[list[SharedClip], Redaction]:
        shared = [shared_clip(self.data_dir, clip) for clip in clips]
        per_file = "{name}" in request.upload.url
        if redact == "faces" and clips:
            self.redactor.check()  # before any work: no model, no share
        files, redaction = self._prepare(request, clips, shared, per_file, redact)
        done = self.store.uploaded(request.request_id)
        for item in files:
            if item.name in done:
                continue
            url = request.upload.url
            if per_file:
                url = url.replace("{name}", quote(item.name, safe=""))
            self.uploader.put(url, item.path, item.sha256, request.upload.headers)
            self.store.mark_uploaded(request.request_id, item.name)
        return shared, redaction

    def _prepare(
        self,
        request: FootageRequest,
        clips: Sequence[ClipLike],
        shared: list[SharedClip],
        per_file: bool,
        redact: RedactMode,
    ) -> tuple[list[OutgoingFile], Redaction]:
        work = self.workdir(request.request_id)
        work.mkdir(mode=0o700, parents=True, exist_ok=True)
        record = ShareRecord(
            request_id=request.request_id,
            clip_ids=[str(clip.id) for clip in clips],
            expires=request.expires.timestamp(),
        )
        DataDir(self.data_dir).share_record(request.request_id).write_text(record.model_dump_json())
        plain: list[tuple[str, Path]] = []
        for clip in clips:
            source = self.data_dir / clip.file
            if not source.is_file():
                raise UploadError(f"clip {clip.id} is no longer on the device", permanent=True)
            plain.append((f"{clip.id}.mp4", source))
            snapshot = self.data_dir / clip.snapshot if clip.snapshot else None
            if snapshot is not None and snapshot.is_file():
                plain.append((f"{clip.id}.jpg", snapshot))
        people = None
        if redact == "faces":
            plain, people = self._redacted(work, plain)
        redaction = self.redaction(redact, people)
        plain = [(_sent_name(name, source), source) for name, source in plain]
        if per_file:
            return [self._outgoing(work, name, source) for name, source in plain], redaction
        bundle = work / "bundle.tar"
        if not bundle.exists():
            manifest = {
                "request_id": request.request_id,
                "clips": [c.model_dump() for c in shared],
                "redaction": redaction.model_dump(),
            }
            partial = work / "bundle.tar.partial"
            import tarfile  # here: a running device packs a bundle seldom, if ever

            with tarfile.open(partial, "w") as tar:
                data = json.dumps(manifest, indent=1).encode()
                info = tarfile.TarInfo("manifest.json")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                for name, source in plain:
                    tar.add(source, arcname=name, filter=_anonymous)
            partial.replace(bundle)
        return [self._outgoing(work, "bundle.tar", bundle)], redaction

    def _redacted(
        self, work: Path, files: list[tuple[str, Path]]
    ) -> tuple[list[tuple[str, Path]], PersonPass | None]:
        """Redacted copies of the files in the share's folder, all made by one call of the
        redactor, and what its person pass did (None: copies an earlier version of the device
        made, which kept no such record). The copies and their record are one unit: an earlier
        attempt's copies are kept only when all of them are complete; with any missing, all
        are made again, so a record never describes copies another pass made."""
        todo, done = [], []
        for name, source in files:
            if is_age_file(source):
                raise RedactionError(f"{name} is stored encrypted; the device cannot redact it")
            target = work / f"redacted-{name}"
            todo.append((source, work / f"redacted-{name}.partial", target))
            done.append((name, target))
        record = work / "person_pass.json"
        if all(target.exists() for _, _, target in todo):
            todo = []  # an earlier attempt made them all, its record beside them
        else:  # the device died as they were renamed into place: none is kept
            record.unlink(missing_ok=True)
            for _, _, target in todo:
                target.unlink(missing_ok=True)
        if todo:
            people = self.redactor.redact_files([(source, part) for source, part, _ in todo])
            # before the copies are complete: a copy that is there has its record beside it
            partial = work / "person_pass.json.partial"
            partial.write_text(json.dumps(people.to_json()), encoding="utf-8")
            partial.replace(record)
        for source, partial, target in todo:
            if not partial.is_file():
                raise RedactionError(f"no redacted copy of {source.name} was made")
            partial.replace(target)
        try:
            return done, PersonPass.from_json(json.loads(record.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return done, None

    def _outgoing(self, work: Path, name: str, source: Path) -> OutgoingFile:
        if not self.encryptor.enabled or is_age_file(source):  # at rest it is ciphertext already
            return OutgoingFile(name, source, file_sha256(source))
        target = work / f"{name}.age"
        if not target.exists():  # an earlier attempt may have left it complete
            partial = work / f"{name}.age.partial"
            self.encryptor.encrypt_file(source, partial)
            partial.replace(target)
        return OutgoingFile(target.name, target, file_sha256(target))
