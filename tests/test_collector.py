"""The cyclic collector paused over start-up and start-up's objects frozen out of later
collections (device.system.collector, issue 31), each put back as it was."""

from __future__ import annotations

import gc

import pytest

from doorbell.device.system.collector import collector_paused, freeze_start_up, thaw_start_up


def test_paused_over_the_block_and_on_again_after_even_on_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(SystemExit), collector_paused():
        assert not gc.isenabled()
        raise SystemExit(2)  # as `fail` leaves a start-up that went wrong
    assert gc.isenabled()


def collected(thing: object) -> bool:
    """Whether the collector looks at `thing` (frozen objects are in none of its generations)."""
    return any(seen is thing for seen in gc.get_objects())


def test_what_is_alive_is_frozen_over_the_block_and_thawed_after() -> None:
    made_at_start_up: list[object] = []
    assert collected(made_at_start_up)
    freeze_start_up()
    try:
        assert not collected(made_at_start_up)
        later: list[object] = []  # made by the running device: collected as usual
        assert collected(later)
    finally:
        thaw_start_up()
    assert collected(made_at_start_up) and gc.get_freeze_count() == 0
