"""The page's event feed: every watcher hears each new event once; one that stops reading is
dropped (and counted) without holding up the others or the index."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from doorbell.device.storage.index import EventIndex
from doorbell.device.web import event_feed
from doorbell.device.web.event_feed import EventFeed


def test_a_watcher_that_stops_reading_is_dropped_and_the_others_hear_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the polls are made here, one per event: the feed's own poll task must not run beside
    # them (on a loaded machine 105 inserts outlast its 0.2 s, and two polls at once against
    # the same last look send a change twice)
    monkeypatch.setattr(event_feed, "POLL_SECONDS", 3600.0)
    index = EventIndex(tmp_path / "index.sqlite")
    index.add_event("old", "motion", 100.0)

    async def scenario() -> tuple[list[str], bool, int]:
        feed = EventFeed(index)
        reader = await feed.watch(since=100.0)  # "old" is on its page already
        stalled = await feed.watch(since=100.0)
        heard: list[str] = []
        for n in range(event_feed.QUEUE + 5):
            index.add_event(f"e{n}", "ring", 200.0 + n)
            await feed._poll_once()  # what the poll task does every POLL_SECONDS
            while not reader.queue.empty():
                item = reader.queue.get_nowait()
                assert item is not None
                heard.append(str(item["id"]))
        await feed.close()
        return heard, stalled.dropped, feed.dropped

    heard, stalled_dropped, dropped = asyncio.run(scenario())
    assert heard == [f"e{n}" for n in range(event_feed.QUEUE + 5)]
    assert stalled_dropped and dropped == 1
    index.close()


def test_a_new_watcher_gets_what_it_has_not_shown_and_changes_come_again(tmp_path: Path) -> None:
    index = EventIndex(tmp_path / "index.sqlite")
    index.add_event("shown", "motion", 100.0)
    index.add_event("missed", "motion", 150.0)

    async def scenario() -> list[tuple[str, bool]]:
        feed = EventFeed(index)
        watcher = await feed.watch(since=100.0)
        index.end_event("missed", 160.0, 3.5, ["path"])  # it ended: its row changes
        await feed._poll_once()
        items = []
        while not watcher.queue.empty():
            item = watcher.queue.get_nowait()
            assert item is not None
            items.append((str(item["id"]), bool(item["ended"])))
        await feed.close()
        return items

    assert asyncio.run(scenario()) == [("missed", False), ("missed", True)]
    index.close()
