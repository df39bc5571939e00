"""Waiting on a condition, never on the wall clock alone: poll until it holds or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], timeout: float = 30.0) -> bool:
    """Whether `predicate()` became true within `timeout` seconds (checked every 50 ms, and once
    more at the end, so a condition that holds just as time runs out still counts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())
