"""New and changed events for the pages that watch them (server-sent events).

One poller per server reads the index's newest events while anyone is watching, and hands each
change to every watcher's bounded queue; a watcher whose queue is full is dropped (its browser
reconnects on its own) and counted, so one slow page never holds up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from doorbell.device.storage.index import EventIndex, EventRow
from doorbell.uplink.messages import iso_utc

POLL_SECONDS = 0.2
WATCHED = 50  # the newest events compared at each poll
QUEUE = 100  # changes one watcher may fall behind by before it is dropped


def event_json(row: EventRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": row.type,
        "label": row.label,
        "start_wall": row.start_wall,
        "start": iso_utc(row.start_wall),
        "ended": row.end_wall is not None,
        "score": round(row.score, 1),
        "zones": row.zones,
        "clip_id": row.clip_id,  # a package's: the clip of the motion that put it down
        "end_clip_id": row.end_clip_id,  # a package's: the clip of the motion that took it
        "thumbnail": f"/events/{row.id}/thumb.jpg" if row.thumbnail else None,
        "encrypted": bool(row.thumbnail and row.thumbnail.endswith(".age")),
    }


def _state(row: EventRow) -> tuple[Any, ...]:
    return (
        row.end_wall,
        row.score,
        tuple(row.zones),
        row.clip_id,
        row.thumbnail,
        row.label,
        row.end_clip_id,
    )


@dataclass(eq=False)
class Watcher:
    queue: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE)
    )
    dropped: bool = False


class EventFeed:
    def __init__(self, index: EventIndex) -> None:
        self.index = index
        self.watchers: set[Watcher] = set()
        self.rows: list[EventRow] = []  # the newest events, newest first, as last read
        self.dropped = 0  # watchers dropped for falling behind
        self._seen: dict[str, tuple[Any, ...]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def watch(self, since: float) -> Watcher:
        """A new watcher, first given the events newer than `since` it has not shown."""
        watcher = Watcher()
        if self._task is None or self._task.done():
            await self._poll_once()
            self._task = asyncio.create_task(self._poll())
        for row in reversed(self.rows):
            if row.start_wall > since:
                self._give(watcher, event_json(row))
        self.watchers.add(watcher)
        return watcher

    def leave(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)

    async def close(self) -> None:
        for watcher in list(self.watchers):
            with contextlib.suppress(asyncio.QueueFull):
                watcher.queue.put_nowait(None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _give(self, watcher: Watcher, item: dict[str, Any]) -> None:
        try:
            watcher.queue.put_nowait(item)
        except asyncio.QueueFull:
            watcher.dropped = True
            self.dropped += 1
            self.watchers.discard(watcher)

    async def _poll(self) -> None:
        while self.watchers:
            await asyncio.sleep(POLL_SECONDS)
            await self._poll_once()
        self._seen = None  # nobody watching: start afresh with the next watcher

    async def _poll_once(self) -> None:
        loop = asyncio.get_running_loop()
        rows = await loop.run_in_executor(None, self.index.latest_events, WATCHED)
        seen = {row.id: _state(row) for row in rows}
        if self._seen is not None:
            for row in reversed(rows):  # oldest change first: pages insert at the top
                if self._seen.get(row.id) != seen[row.id]:
                    for watcher in list(self.watchers):
                        self._give(watcher, event_json(row))
        self._seen, self.rows = seen, rows
