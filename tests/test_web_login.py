"""Logins on the page: counted before the password is checked, one Argon2 check at a time, a
limit per address and one for all addresses, Argon2 sized for the smallest Pi."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from argon2 import PasswordHasher

from doorbell.device.web.auth import (
    ARGON2_MEMORY_KIB,
    ARGON2_PASSES,
    LoginLimiter,
    PasswordFile,
)
from tests.support.web_page import PASSWORD, page_device


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_attempts_are_counted_as_they_begin_per_address_and_in_all() -> None:
    clock = Clock()
    limiter = LoginLimiter(attempts=2, window=60.0, clock=clock, total=3)
    # Begun, not yet checked: the third from one address is refused before any check.
    assert [limiter.begin("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert limiter.begin("10.0.0.2") is True
    assert limiter.begin("10.0.0.3") is False  # the total is spent, whoever asks
    assert limiter.refused == 2
    limiter.succeeded("10.0.0.1")  # a good login clears its address, not the total
    assert limiter.begin("10.0.0.1") is False
    clock.now += 60.0
    assert limiter.begin("10.0.0.3") is True


def test_refused_attempts_leave_no_entry_behind() -> None:
    limiter = LoginLimiter(attempts=1, window=60.0, clock=Clock(), total=1)
    assert limiter.begin("a")
    for n in range(1000):
        assert not limiter.begin(f"addr-{n}")
    assert len(limiter._by_address) == 1


def test_argon2_is_sized_for_the_smallest_pi_and_old_hashes_are_remade(tmp_path: Path) -> None:
    passwords = PasswordFile(tmp_path / "web-password")
    passwords.set(PASSWORD)
    stored = passwords.path.read_text()
    assert f"m={ARGON2_MEMORY_KIB},t={ARGON2_PASSES},p=1" in stored
    assert ARGON2_MEMORY_KIB <= 19 * 1024
    # A hash from before (argon2-cffi's default, 64 MiB) still logs in, and is re-made smaller.
    passwords.path.write_text(PasswordHasher().hash(PASSWORD) + "\n")
    assert "m=65536" in passwords.path.read_text()
    assert passwords.verify(PASSWORD)
    assert f"m={ARGON2_MEMORY_KIB}," in passwords.path.read_text()
    assert not passwords.verify("wrong password")


class CountingPasswords(PasswordFile):
    """The real password file, counting how many checks run and how many at once."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.checks = self.running = self.most_at_once = 0
        self._lock = threading.Lock()

    def verify(self, password: str) -> bool:
        with self._lock:
            self.checks += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            return super().verify(password)
        finally:
            with self._lock:
                self.running -= 1


def test_a_burst_of_logins_is_checked_at_most_login_attempts_times(tmp_path: Path) -> None:
    with page_device(tmp_path, web={"login_attempts": 5}) as page:
        assert page.device.web is not None
        context = page.device.web.context
        counting = CountingPasswords(context.passwords.path)
        context.passwords = counting

        def login(password: str) -> int:
            reply = requests.post(
                page.url + "/login",
                data={"password": password, "next": "/live"},
                allow_redirects=False,
                timeout=30,
            )
            return reply.status_code

        tries = ["wrong password"] * 39 + [PASSWORD]
        with ThreadPoolExecutor(max_workers=40) as pool:
            codes = list(pool.map(login, tries))
        assert counting.checks <= 5 and counting.most_at_once == 1
        assert codes.count(429) >= 35
        assert set(codes) <= {401, 429, 303}
        assert codes.count(303) <= 1  # the right one got in only if it was among the first five
