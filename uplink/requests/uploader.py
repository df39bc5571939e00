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
import ssl
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


Lookup = Callable[[str, int], list[str]]


def system_lookup(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def resolve(host: str, port: int, public_only: bool, lookup: Lookup = system_lookup) -> str:
    """The one address an upload connects to, looked up once.

    Checking a name and then letting the connection look it up again lets a name that answers a
    public address first and a LAN address second (DNS rebinding) through; so the address that
    was checked is the address connected to. Every address the name has must be public.
    """
    try:
        addresses = lookup(host, port)
    except OSError:
        raise UploadError("upload host cannot be resolved", permanent=True) from None
    if not addresses:
        raise UploadError("upload host cannot be resolved", permanent=True)
    if public_only and not all(is_public(a) for a in addresses):
        raise UploadError("upload host is not a public address", permanent=True)
    return addresses[0]


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: an IPv4 address in the last 32 bits
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a network's own translators
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d


def is_public(address: str) -> bool:
    """A global address, also for the IPv4 address inside an IPv6 one: 64:ff9b::7f00:1 (NAT64)
    and 2002:7f00:1:: (6to4) reach 127.0.0.1 through a translator or relay, and the standard
    library calls them global."""
    ip = ipaddress.ip_address(address)
    if not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return True
    if ip in NAT64_LOCAL:
        return False
    inner: ipaddress.IPv4Address | None = ip.ipv4_mapped or ip.sixtofour
    if inner is None and (ip in NAT64 or ip in IPV4_COMPATIBLE):
        inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return inner is None or inner.is_global


@dataclass(frozen=True)
class Route:
    """Where an upload's connection goes: the checked address, perhaps through a proxy."""

    address: str
    port: int
    proxy: tuple[str, int] | None  # an HTTP proxy that takes CONNECT

    def open(self, timeout: float | None) -> socket.socket:
        if self.proxy is None:
            return socket.create_connection((self.address, self.port), timeout)
        sock = socket.create_connection(self.proxy, timeout)
        target = f"[{self.address}]" if ":" in self.address else self.address
        sock.sendall(
            f"CONNECT {target}:{self.port} HTTP/1.1\r\nHost: {target}:{self.port}\r\n\r\n".encode()
        )
        answer = http.client.HTTPResponse(sock, method="CONNECT")
        answer.begin()
        if answer.status != 200:
            sock.close()
            raise OSError(f"the upload proxy refused the tunnel: {answer.status}")
        return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP along a checked route; `Host:` still names the URL's host."""

    def __init__(self, host: str, port: int | None, route: Route, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.route = route

    def connect(self) -> None:
        self.sock = self.route.open(self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS along a checked route, with the URL's host name for SNI and the certificate."""

    def __init__(self, host: str, port: int | None, route: Route, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.route = route

    def connect(self) -> None:
        self.sock = self.tls.wrap_socket(self.route.open(self.timeout), server_hostname=self.host)


class HttpUploader:
    def __init__(
        self,
        attempts: int = 5,
        timeout: float = 60.0,
        backoff: float = 2.0,
        allow_insecure: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        lookup: Lookup = system_lookup,
        proxy: str | None = None,
    ) -> None:
        self.attempts = attempts
        self.timeout = timeout
        self.backoff = backoff
        self.allow_insecure = allow_insecure
        self.sleep = sleep
        self.lookup = lookup
        parts = urlsplit(proxy) if proxy else None
        self.proxy = (parts.hostname or "", parts.port or 8080) if parts else None

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
        resolve(parts.hostname, parts.port or 443, public_only=True, lookup=self.lookup)

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
        default_port = 443 if parts.scheme == "https" else 80
        port = parts.port or default_port
        address = resolve(parts.hostname, port, not self.allow_insecure, self.lookup)
        route = Route(address, port, self.proxy)
        pinned = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        conn = pinned(parts.hostname, parts.port, route, self.timeout)
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
