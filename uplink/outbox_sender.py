"""Moves the outbox to the broker: oldest first, a bounded window in flight, deleted on PUBACK.

Runs on its own thread so paho's network thread only hands over PUBACKs (a deque append) and
never waits on SQLite. After a reconnect paho re-sends what it had in flight by itself; new rows
wait until those are acknowledged, so the broker sees rows in order. If paho does not re-send
them within `resend_after` seconds, they are published again from the outbox (consumers
de-duplicate by id).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from uplink.mqtt_link import MqttLink
from uplink.outbox import Outbox

log = logging.getLogger(__name__)


class OutboxSender:
    def __init__(
        self,
        outbox: Outbox,
        link: MqttLink,
        rate_per_second: float,
        window: int,
        content_type: str | None = "application/json",
        resend_after: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self.link = link
        self.rate = rate_per_second
        self.window = window
        self.content_type = content_type
        self.resend_after = resend_after
        self.monotonic = monotonic
        self.sent = 0  # rows acknowledged by the broker
        self._inflight: dict[int, int] = {}  # paho mid -> outbox row id
        self._stale: set[int] = set()  # mids in flight when the connection dropped
        self._reconnected_at: float | None = None
        self._since = 0.0  # when the current connection came up
        self._last_id = 0  # newest row handed to paho in this process
        self._backlog_mark = 0  # rows up to here are replayed at the bounded rate
        self._next_slot = 0.0
        self._acks: deque[int] = deque()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)

    # -- called from other threads ----------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def on_connected(self) -> None:  # paho's thread
        self._reconnected_at = self.monotonic()
        self._wake.set()

    def on_published(self, mid: int) -> None:  # paho's thread: hand over, nothing more
        self._acks.append(mid)
        self._wake.set()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def flush(self, timeout: float) -> bool:
        """Wait until the outbox is empty or `timeout` passes; True when empty."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self.outbox.backlog > 0:
                left = deadline - time.monotonic()
                if left <= 0 or not self.link.connected.is_set():
                    return self.outbox.backlog == 0
                self._idle.wait(min(left, 0.1))
        return True

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(5)

    # -- the sender thread ------------------------------------------------------------------------
    def _run(self) -> None:
        last_expire = self.monotonic()
        while not self._stop.is_set():
            timeout = self._step()
            if self.monotonic() - last_expire > 60:
                self.outbox.expire()
                last_expire = self.monotonic()
            self._wake.wait(timeout)
            self._wake.clear()

    def _step(self) -> float:
        """One round of work; returns how long to sleep at most."""
        self._take_acks()
        if not self.link.connected.is_set():
            return 0.5
        now = self.monotonic()
        if self._reconnected_at is not None:
            # a fresh connection: what was in flight is paho's to re-send first
            self._stale = set(self._inflight)
            self._backlog_mark = max(self._backlog_mark, self.outbox.newest_id)
            self._next_slot = now
            self._since = self._reconnected_at
            self._reconnected_at = None
        if self._stale:
            self._stale &= set(self._inflight)
            if self._stale and now - self._since < self.resend_after:
                return 0.1
            if self._stale:
                self._resend_stale()
        return self._publish_new(now)

    def _take_acks(self) -> None:
        done: list[int] = []
        while self._acks:
            row_id = self._inflight.pop(self._acks.popleft(), None)
            if row_id is not None:
                done.append(row_id)
        if done:
            self.outbox.delete(done)
            self.sent += len(done)
            with self._idle:
                self._idle.notify_all()

    def _resend_stale(self) -> None:
        rows = self.outbox.get([self._inflight.pop(mid) for mid in sorted(self._stale)])
        log.info("re-sending %d unacknowledged alert(s) from the outbox", len(rows))
        self._stale.clear()
        for row in rows:
            self._publish(row.id, row.topic, row.payload)

    def _publish_new(self, now: float) -> float:
        free = self.window - len(self._inflight)
        if free <= 0:
            return 0.5
        for row in self.outbox.after(self._last_id, free):
            if row.id <= self._backlog_mark:
                if now < self._next_slot:
                    return self._next_slot - now
                self._next_slot = max(self._next_slot, now - 1.0) + 1.0 / self.rate
            self._publish(row.id, row.topic, row.payload)
            self._last_id = row.id
            now = self.monotonic()
        return 0.5

    def _publish(self, row_id: int, topic: str, payload: bytes) -> None:
        # Not connected any more: paho keeps it and sends it after reconnecting (stale logic).
        info = self.link.publish(topic, payload, qos=1, content_type=self.content_type)
        self._inflight[info.mid] = row_id
