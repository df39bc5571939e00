"""The outbox on its own: order, bounds, drop counting, persistence, erasure; and its sender's
wake-ups (a row added or a PUBACK wakes it, nothing else does until a clock deadline)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from doorbell.device.runtime.erase import empty_database
from doorbell.uplink.outbox import Outbox, OutboxRow
from doorbell.uplink.outbox_sender import EXPIRE_EVERY, OutboxSender


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_rows_come_back_oldest_first_and_ack_deletes(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite")
    ids = [box.add("t", f"m{i}") for i in range(5)]
    assert ids == sorted(ids)
    assert [r.payload for r in box.pending()] == [f"m{i}".encode() for i in range(5)]
    assert [r.id for r in box.pending(after_id=ids[1], limit=2)] == ids[2:4]
    assert box.ack([ids[0], ids[2], 99_999]) == 2
    assert [r.id for r in box.pending()] == [ids[1], ids[3], ids[4]]
    assert box.backlog == 3


def test_count_bound_drops_the_oldest_and_counts_it_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path, max_messages=10)
    for i in range(25):
        box.add("t", str(i))
    assert box.backlog == 10
    assert [r.payload for r in box.pending()] == [str(i).encode() for i in range(15, 25)]
    assert box.dropped == 15
    box.close()
    again = Outbox(path, max_messages=10)
    assert again.dropped == 15 and again.backlog == 10


def test_age_bound_drops_old_rows(tmp_path: Path) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "outbox.sqlite", max_age_hours=1.0, clock=clock)
    box.add("t", "old")
    clock.now += 1800
    box.add("t", "mid")
    clock.now += 1900  # "old" is now 62 min old, "mid" 32 min
    assert box.expire() == 1
    assert [r.payload for r in box.pending()] == [b"mid"]
    clock.now += 3600
    box.add("t", "new")
    assert [r.payload for r in box.pending()] == [b"new"]
    assert box.dropped == 2


def test_clear_and_erase_leave_a_working_empty_outbox(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path, max_messages=10)
    for i in range(12):
        box.add("t", str(i), "application/json")
    assert box.clear() == 10
    assert box.backlog == 0 and box.dropped == 0
    box.add("t", "x")
    box.close()
    counts = empty_database(path)  # what `doorbell erase` does to every database
    assert counts["outbox"] == 1
    again = Outbox(path)
    assert again.backlog == 0 and again.dropped == 0
    row_id = again.add("t", "after erase")
    assert again.pending()[0].id == row_id


class Link:
    """The sender's side of paho (the Publisher protocol): connected, every row taken."""

    def __init__(self) -> None:
        self.rows: list[bytes] = []
        self.changed = threading.Condition()

    def is_connected(self) -> bool:
        return True

    def publish_row(self, row: OutboxRow) -> int | None:
        with self.changed:
            self.rows.append(row.payload)
            self.changed.notify_all()
            return len(self.rows)  # the mid

    def wait_for(self, count: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.rows) >= count, timeout=5.0)


def test_sender_sleeps_until_a_row_or_a_puback_wakes_it(tmp_path: Path) -> None:
    """No polling of the outbox while idle (issue 31: it cost ~1 % of a core in real time); a
    row added is sent at once, and a PUBACK frees the window at once, well before the idle
    wait (the age check's EXPIRE_EVERY) would have ended."""
    box, link = Outbox(tmp_path / "outbox.sqlite"), Link()
    sender = OutboxSender(box, link, rate_per_second=100.0, window=1)
    assert sender._until_due(time.monotonic() + EXPIRE_EVERY, retry=None) > EXPIRE_EVERY - 1
    sender.start()  # connected from the start: no settling after a connect, nothing to resend
    try:
        box.add("t", "first")
        box.add("t", "second")
        sender.notify()
        assert link.wait_for(1), "a row added did not wake the sender"
        assert link.rows == [b"first"]  # the window (1) is full until the PUBACK
        sender.on_published(1)
        assert link.wait_for(2), "a PUBACK did not wake the sender"
        assert link.rows == [b"first", b"second"]
    finally:
        sender.stop()
