"""Python's cyclic garbage collector kept off the device's start-up and out of its steady state.

Start-up (the command's imports, its config, building the device) creates ~55,000 long-lived
objects and almost no garbage (under a thousand unreachable objects), yet the collector ran
~130 times over them, a full collection among them: 32-38 ms of CPU in a one-frame run on
768x576 footage, 5-7 ms now (issue 31). So the collector is paused while a command's module is
imported and while `doorbell run` builds the device, and what was made is frozen (`gc.freeze`:
left out of every later collection) before the collector is on again, so that it walks only
what the running command creates, never the modules and the device's parts.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off for the block (reference counting still frees almost all), and
    as it was after."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def freeze_start_up() -> None:
    """Every object alive now left out of later collections, until `thaw_start_up` (start-up's
    few unreachable ones stay with them: a few hundred kB at most, once). Called while the
    collector is paused, so that no collection first walks what start-up made."""
    gc.freeze()


def thaw_start_up() -> None:
    """Start-up's objects back with the others, for a caller that goes on after the device
    stops (a test calling `run` in its own process)."""
    gc.unfreeze()
