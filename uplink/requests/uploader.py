"""HTTP PUT of one file to an upload URL (a presigned S3 URL in real deployments), streamed from
disk, with the body's SHA-256 in headers, retried with backoff when the connection or server fails.

A presigned PUT has no partial-upload protocol, so a failed attempt is re-sent whole; "resume"
across files and restarts is the caller's job (it records each finished file durably).
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

SHA256_HEADER = "x-amz-meta-sha256"  # hex digest, kept by S3 as object metadata
CHECKSUM_HEADER = "x-amz-checksum-sha256"  # base64 digest, verified by S3 itself
_RESERVED = {"host", "content-length", "transfer-encoding", SHA256_HEADER, CHECKSUM_HEADER}
_CHUNK = 64 * 1024


class UploadError(Exception):
    """The upload did not complete; `permanent` when trying again cannot help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class UploadResult:
    attempts: int
    status: int


def _public_host(host: str, port: int) -> bool:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        return True  # cannot tell; the connection attempt will fail on its own
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return False
    return True


class HttpUploader:
    def __init__(
        self,
        attempts: int = 5,
        timeout: float = 60.0,
        backoff: float = 2.0,
        allow_insecure: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts = attempts
        self.timeout = timeout
        self.backoff = backoff
        self.allow_insecure = allow_insecure
        self.sleep = sleep

    def check_target(self, url: str) -> None:
        """Refuse what should never receive footage: plain http, or (unless allowed) a host on
        the device's own network, so a request cannot aim the device at the owner's LAN."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UploadError(f"not an http(s) URL: {parts.scheme}://", permanent=True)
        if self.allow_insecure:
            return
        if parts.scheme != "https":
            raise UploadError("upload URL must be https://", permanent=True)
        if not _public_host(parts.hostname, parts.port or 443):
            raise UploadError("upload host is not a public address", permanent=True)

    def put(
        self, url: str, path: Path, sha256_hex: str, headers: Mapping[str, str] | None = None
    ) -> UploadResult:
        self.check_target(url)
        wait = self.backoff
        last: UploadError | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                status = self._put_once(url, path, sha256_hex, headers or {})
                return UploadResult(attempts=attempt, status=status)
            except UploadError as exc:
                last = exc
                if exc.permanent:
                    break
            host = urlsplit(url).hostname  # never log the URL: a presigned one is a credential
            log.warning("upload of %s to %s failed (try %d): %s", path.name, host, attempt, last)
            if attempt < self.attempts:
                self.sleep(wait)
                wait *= 2
        assert last is not None
        raise last

    def _put_once(self, url: str, path: Path, sha256_hex: str, extra: Mapping[str, str]) -> int:
        parts = urlsplit(url)
        assert parts.hostname is not None
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=self.timeout)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        size = path.stat().st_size
        try:
            conn.putrequest("PUT", target, skip_accept_encoding=True)
            for name, value in extra.items():
                if name.lower() not in _RESERVED:
                    conn.putheader(name, value)
            conn.putheader("Content-Length", str(size))
            conn.putheader(SHA256_HEADER, sha256_hex)
            conn.putheader(CHECKSUM_HEADER, base64.b64encode(bytes.fromhex(sha256_hex)).decode())
            conn.endheaders()
            with path.open("rb") as f:
                while chunk := f.read(_CHUNK):
                    conn.send(chunk)
            response = conn.getresponse()
            body = response.read(2048)
        except (OSError, http.client.HTTPException) as exc:
            raise UploadError(f"connection failed: {exc.__class__.__name__}: {exc}") from None
        except ValueError as exc:  # a header or URL http.client will not send
            raise UploadError(f"cannot send: {exc}", permanent=True) from None
        finally:
            conn.close()
        status = response.status
        if 200 <= status < 300:
            return status
        permanent = 400 <= status < 500 and status not in (408, 429)
        reason = body.decode("utf-8", "replace").strip().splitlines()[:1]
        raise UploadError(f"HTTP {status} {' '.join(reason)[:200]}", permanent=permanent)
