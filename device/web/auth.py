"""Who may use the page: the owner's password (Argon2 hash, 0600), sessions with their CSRF
token, and a limit on login attempts per address and in all. Time comes from an injected
monotonic clock.

An attempt is counted before its password is checked (`LoginLimiter.begin`): a burst of logins
sent at once cannot all be checked while the first are still hashing. Argon2 is sized for the
smallest supported Pi (`ARGON2_*`: 19 MiB a check, OWASP's minimum for Argon2id; the library's
default is 64 MiB), and the page checks one password at a time (web/app.py), so a burst costs
19 MiB, not 64 MiB per login."""

from __future__ import annotations

import contextlib
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
# Argon2id, m=19 MiB, t=2, p=1 (OWASP's password storage cheat sheet): about 20 ms of one x86 core
# and 19 MiB for as long; a hash made with other parameters is re-made at the next good login.
ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES = 19 * 1024, 2, 1


class PasswordFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._hasher = PasswordHasher(
            memory_cost=ARGON2_MEMORY_KIB, time_cost=ARGON2_PASSES, parallelism=ARGON2_LANES
        )

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
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
        if self._hasher.check_needs_rehash(stored):  # made with other (older, larger) parameters
            with contextlib.suppress(OSError, ValueError):  # the old hash works; next time
                self.set(password)
        return True


class LoginLimiter:
    """At most `attempts` login attempts per address and `total` from all addresses within
    `window` seconds, counted as they begin (before the password is checked); a success clears
    its address's count. Addresses are remembered only for attempts that were let through, so
    the table is bounded by `total`."""

    def __init__(
        self,
        attempts: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        total: int | None = None,
    ) -> None:
        self.attempts, self.window, self.clock = attempts, window, clock
        self.total = total if total is not None else 4 * attempts
        self.refused = 0  # attempts turned away without a check
        self._by_address: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def _forget_old(self, times: deque[float], now: float) -> deque[float]:
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def begin(self, address: str) -> bool:
        """Count one attempt from `address`; False (and nothing to check) when over a limit."""
        with self._lock:
            now = self.clock()
            mine = self._forget_old(self._by_address.get(address, deque()), now)
            if not mine:
                self._by_address.pop(address, None)
            if len(self._forget_old(self._all, now)) >= self.total or len(mine) >= self.attempts:
                self.refused += 1
                return False
            mine.append(now)
            self._by_address[address] = mine
            self._all.append(now)
            return True

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._by_address.pop(address, None)


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
