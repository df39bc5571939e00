"""Who may use the page: the owner's password (Argon2 hash, 0600), sessions with their CSRF
token, and a limit on failed logins per address. Time comes from an injected monotonic clock."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD = 10


class PasswordFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._hasher = PasswordHasher()

    def exists(self) -> bool:
        return self.path.is_file()

    def set(self, password: str) -> None:
        """Store the hash only, readable by the device's account alone; atomic."""
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self._hasher.hash(password) + "\n")
        os.replace(temp, self.path)

    def verify(self, password: str) -> bool:
        try:
            stored = self.path.read_text().strip()
        except OSError:
            return False  # no password: nobody logs in
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


class LoginLimiter:
    """At most `attempts` failures per address within `window` seconds; a success clears."""

    def __init__(
        self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts, self.window, self.clock = attempts, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= self.clock() - self.window:
            failures.popleft()
        return failures

    def allowed(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address)) < self.attempts

    def failed(self, address: str) -> None:
        with self._lock:
            self._recent(address).append(self.clock())

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)


@dataclass(frozen=True)
class Session:
    token: str
    csrf: str
    expires: float  # on the limiter's monotonic clock


class Sessions:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self) -> Session:
        session = Session(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.clock() + self.seconds
        )
        with self._lock:
            now = self.clock()
            self._by_token = {t: s for t, s in self._by_token.items() if s.expires > now}
            self._by_token[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            session = self._by_token.get(token)
        return session if session is not None and session.expires > self.clock() else None

    def drop(self, token: str) -> None:
        with self._lock:
            self._by_token.pop(token, None)
