"""Signed commands already run, by request_id: a retry is answered again, never run twice.

`doorbell owner send` sends a command again, signed afresh (a new nonce), until it sees the
answer: under a flood the broker may drop a copy, or deliver it late. Every copy that passes
`uplink.command_auth.CommandGate` would otherwise run (a second snapshot, a mode set twice). So the
device remembers, per signer and command, the request_ids it ran and their answers, for as long as
a copy could still pass the gate (twice `uplink.commands.max_skew_seconds`), at most `max_entries`
of them (the oldest forgotten first). In memory only: after a restart a late copy runs again,
which every owner command tolerates (they set state, or publish a snapshot).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from doorbell.uplink.command_models import CommandReply, ParsedCommand

_Key = tuple[str, str, str]  # (signer, command, request_id)


@dataclass
class _Ran:
    at: float
    reply: CommandReply | None  # None: the device answers later (send_result)


class AnsweredCommands:
    def __init__(
        self, keep_seconds: float, clock: Callable[[], float], max_entries: int = 256
    ) -> None:
        self.keep_seconds = keep_seconds
        self.clock = clock
        self.max_entries = max_entries
        self._ran: OrderedDict[_Key, _Ran] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(command: ParsedCommand) -> _Key | None:
        # Only what an owner key signed: unsigned and local commands have no signer to tell
        # one sender's request_id from another's.
        if not command.by.startswith("owner-key:") or command.request_id is None:
            return None
        return (command.by, command.name, command.request_id)

    def earlier(self, command: ParsedCommand) -> tuple[bool, CommandReply | None]:
        """(True, its answer) when this signer's command with this request_id already ran."""
        key = self._key(command)
        with self._lock:
            self._forget_old()
            ran = self._ran.get(key) if key is not None else None
        return (False, None) if ran is None else (True, ran.reply)

    def ran(self, command: ParsedCommand, reply: CommandReply | None) -> None:
        key = self._key(command)
        if key is None:
            return
        with self._lock:
            self._ran[key] = _Ran(self.clock(), reply)
            self._ran.move_to_end(key)
            while len(self._ran) > self.max_entries:
                self._ran.popitem(last=False)

    def _forget_old(self) -> None:
        before = self.clock() - self.keep_seconds
        while self._ran:
            key, ran = next(iter(self._ran.items()))
            if ran.at >= before:
                return
            del self._ran[key]

    def __len__(self) -> int:
        return len(self._ran)
