"""Between paho's network thread and the command worker: what a command costs before it is read.

Anyone allowed to write `<base>/cmd/#` can publish at broker speed, so on the network thread each
message costs at most a few comparisons and a counter until it is queued, in this order:

1. a name that is not an MQTT command (`uplink.command_models.COMMANDS`) is dropped: no bucket, no
   log line, no reply (counted `unknown`);
2. a body over `uplink.max_command_bytes` is dropped (`too_large`);
3. a small body that carries a signature and names one of the owner keys' ids has its signature
   checked right here (`signed_by_owner`: ~0.1 ms, against paho's ~0.2 ms to read a message), and
   goes to the owner lane: its own queue, served first, so junk on the same topic cannot crowd the
   owner out. A body that only borrowed a public key id is dropped here (`forged`): it never takes
   the owner lane's room. Once authorised on the worker (device, time, nonce), the command takes a
   token from the owner's own per-topic budget;
4. everything else takes a token from its topic's budget (`uplink.commands.per_minute`), then
   from one budget for all topics together (`total_per_minute`: junk spread over every topic
   still takes no more than that), then a place in the queue; without one it is dropped
   (`over_budget`, `queue_full`).

Nothing is logged per drop; telemetry shows the counts (`commands_dropped`, `commands_junk`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from doorbell.config.uplink import CommandsConfig
from doorbell.uplink.rate_limit import RateLimit

# An owner's command (mode, snapshot, motion, ping) signed is ~400 bytes; a larger body naming an
# owner key is not given the owner lane, so checking a forged one stays cheap.
OWNER_LANE_BYTES = 2048


@dataclass(frozen=True)
class Incoming:
    name: str
    payload: bytes
    retained: bool
    owner: bool  # came by the owner lane: its signature decides whether it is answered at all


@dataclass
class IntakeCounts:
    unknown: int = 0  # names that are no command
    too_large: int = 0
    over_budget: int = 0  # over the total, the topic's or the owner's budget
    queue_full: int = 0
    forged: int = 0  # owner-lane bodies whose signature failed (or authorised another command)
    unanswered: int = 0  # refused, with no request_id to answer to

    @property
    def dropped(self) -> int:
        """Well-formed commands that were not taken for lack of budget or room."""
        return self.over_budget + self.queue_full

    @property
    def junk(self) -> int:
        """Messages dropped for what they are, unanswered."""
        return self.unknown + self.too_large + self.forged + self.unanswered


class CommandIntake:
    def __init__(
        self,
        names: Iterable[str],
        config: CommandsConfig,
        owner_key_ids: Iterable[str],
        max_bytes: int,
        clock: Callable[[], float],
        signed_by_owner: Callable[[str, bytes], bool] = lambda name, payload: False,
        queue_size: int = 256,
        owner_queue_size: int = 64,
    ) -> None:
        self.signed_by_owner = signed_by_owner  # the signature holds, for this command
        self.names = frozenset(names)
        self.max_bytes = max_bytes
        self.counts = IntakeCounts()
        self.total = RateLimit(config.total_per_minute, clock, max_names=1)
        self.per_topic = RateLimit(config.per_minute, clock, max_names=len(self.names))
        self.owner_limit = RateLimit(config.per_minute, clock, max_names=len(self.names))
        self._owner_ids = tuple(f'"{kid}"'.encode() for kid in owner_key_ids)
        self._queues: dict[bool, deque[Incoming]] = {True: deque(), False: deque()}
        self._sizes = {True: owner_queue_size, False: queue_size}
        self._ready = threading.Condition()
        self._closed = False

    # -- paho's network thread ------------------------------------------------------------------
    def offer(self, name: str, payload: bytes, retained: bool) -> None:
        """Queue one message for the worker, or drop it and count why."""
        if name not in self.names:
            self.counts.unknown += 1
            return
        if len(payload) > self.max_bytes:
            self.counts.too_large += 1
            return
        owner = not retained and self._names_an_owner_key(payload)
        if owner and not self.signed_by_owner(name, payload):
            self.counts.forged += 1  # borrowed an owner key's id: junk, unanswered
            return
        if not owner and not self.within_budget(name):
            return
        with self._ready:
            lane = self._queues[owner]
            if len(lane) >= self._sizes[owner]:
                self.counts.queue_full += 1
                return
            lane.append(Incoming(name, payload, retained, owner))
            self._ready.notify()

    def _names_an_owner_key(self, payload: bytes) -> bool:
        if len(payload) > OWNER_LANE_BYTES or b'"signature"' not in payload:
            return False
        return any(kid in payload for kid in self._owner_ids)

    def within_budget(self, name: str) -> bool:
        """A token from the topic's budget and from the total; counted when there is none. The
        worker asks too, before answering an owner-lane body that was refused."""
        # The topic's first: a flood on one topic empties its own bucket, not the total.
        if self.per_topic.allow(name) and self.total.allow("*"):
            return True
        self.counts.over_budget += 1
        return False

    def owner_may_run(self, name: str) -> bool:
        """A token from the owner's budget for `name` (an authorised command)."""
        if self.owner_limit.allow(name):
            return True
        self.counts.over_budget += 1
        return False

    # -- the command worker ---------------------------------------------------------------------
    def take(self) -> Incoming | None:
        """The next message, the owner lane's first; None once closed."""
        with self._ready:
            while not self._closed:
                for owner in (True, False):
                    if self._queues[owner]:
                        return self._queues[owner].popleft()
                self._ready.wait()
            return None

    def __len__(self) -> int:
        """Messages waiting in both lanes."""
        with self._ready:
            return sum(len(lane) for lane in self._queues.values())

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()
