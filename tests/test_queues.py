"""DropQueue, on which the architecture's drop table rests: full, it drops the OLDEST item (the
camera's newest frame always gets through), counts it, and never blocks the producer; lossless,
the producer waits for room instead and nothing is dropped."""

from __future__ import annotations

import threading

from doorbell.device.runtime.queues import DropQueue


def test_full_it_drops_the_oldest_and_counts_it() -> None:
    q: DropQueue[int] = DropQueue(3)
    for n in range(1, 6):
        q.put(n)  # never blocks
    assert q.dropped == 2
    assert [q.get(0), q.get(0), q.get(0)] == [3, 4, 5]  # 1 and 2 went, the newest stayed
    assert q.get(0) is None


def test_a_slot_of_one_always_holds_the_newest() -> None:
    q: DropQueue[str] = DropQueue(1)
    for frame in ("a", "b", "c"):
        q.put(frame)
    assert (q.get(0), q.dropped) == ("c", 2)


def test_lossless_waits_for_room_and_drops_nothing() -> None:
    q: DropQueue[int] = DropQueue(2, lossless=True)
    q.put(1)
    q.put(2)
    third_in = threading.Event()

    def producer() -> None:
        q.put(3)  # waits: the queue is full
        third_in.set()

    thread = threading.Thread(target=producer)
    thread.start()
    assert not third_in.is_set()
    assert q.get(5) == 1  # room: the producer goes on
    assert third_in.wait(5)
    thread.join(5)
    assert [q.get(0), q.get(0), q.dropped] == [2, 3, 0]


def test_closing_releases_a_waiting_producer_and_drains() -> None:
    q: DropQueue[int] = DropQueue(1, lossless=True)
    q.put(1)
    thread = threading.Thread(target=q.put, args=(2,))
    thread.start()
    q.close()
    thread.join(5)
    assert not thread.is_alive()
    assert not q.closed  # items are still waiting
    q.get(0)
    q.get(0)
    assert q.closed and q.get(0) is None


def test_get_without_timeout_sleeps_until_an_item_or_the_close() -> None:
    """The pipeline's consumers wait so (no wake-up every half second to look): an item or the
    close ends the wait, and nothing else does."""
    q: DropQueue[int] = DropQueue(2)
    got: list[int | None] = []
    consumer = threading.Thread(target=lambda: got.extend([q.get(), q.get()]))
    consumer.start()
    q.put(7)
    q.close()
    consumer.join(5)
    assert not consumer.is_alive() and got == [7, None]
