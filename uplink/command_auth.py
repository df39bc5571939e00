"""Who may command the device over MQTT: the owner's signature, checked before anything runs.

Anyone who can publish on the broker can write to `<base>/cmd/<name>`, so a command counts only
when it is signed by a key in `uplink.commands.owner_keys` (Ed25519, the canonical form of
`uplink.requests.signing`) and carries, under that signature:

- `command`: the name of the topic it arrives on (a signed `ping` published on `cmd/snapshot`
  takes no snapshot),
- `device_id`: this device (a command signed for the porch is refused by the garage),
- `issued_at`: when it was signed, within `max_skew_seconds` of the device's clock,
- `nonce`: never seen before; seen nonces are kept (`uplink.replay_guard`) until their
  `issued_at` is out of the window, on disk, so a restart does not reopen it for a replay.

Commands named in `uplink.commands.unsigned` (Home Assistant's mode select and snapshot button
cannot sign) are taken without a signature; the list is empty by default. Footage requests and
decisions are signed in their own scheme (the requester's and the owner's keys) and pass here.
Retained commands are never taken: a stale `cmd/mode` left on the broker must not re-apply itself
at every start.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from doorbell.config.uplink import CommandsConfig
from doorbell.uplink.command_models import CommandError
from doorbell.uplink.replay_guard import ReplayGuard
from doorbell.uplink.requests.signing import (
    KeyRing,
    SignatureError,
    bound_to,
    key_id_of,
    public_key_b64,
    sign_body,
)

if TYPE_CHECKING:  # cryptography is loaded only where a key is used
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# Commands whose bodies carry a signature of their own kind, checked by the footage requests.
SELF_SIGNED = frozenset({"footage_request", "footage_decision"})
# Under the owner's signature, not part of any command's own arguments.
AUTH_FIELDS = ("command", "device_id", "issued_at", "nonce", "key_id", "signature")
NONCE = "command-nonce"  # the kind of id ReplayGuard keeps for commands


class CommandRefused(CommandError):
    """The command is not taken; the message says why, in words safe to send back."""


@dataclass(frozen=True)
class Authorised:
    body: dict[str, Any]  # the command's own arguments, the signature's fields removed
    signer: str  # "owner-key:<key id>", "unsigned" (allowed by config), or "self-signed"


class CommandGate:
    def __init__(
        self,
        device_id: str,
        config: CommandsConfig,
        taken: ReplayGuard,
        clock: Callable[[], float],
    ) -> None:
        self.device_id = device_id
        self.config = config
        self.taken = taken
        self.clock = clock
        self.owner = KeyRing(config.owner_keys)
        self.owner_key_ids = [key_id_of(key) for key in config.owner_keys]

    def check(self, name: str, body: dict[str, Any], retained: bool = False) -> Authorised:
        """The command's arguments if it may run; raises CommandRefused otherwise."""
        if retained:
            raise CommandRefused("retained commands are ignored")
        if name in SELF_SIGNED:
            return Authorised(body, "self-signed")
        if "signature" not in body:
            if name in self.config.unsigned:
                return Authorised(body, "unsigned")
            raise CommandRefused("unsigned: commands must be signed by an owner key")
        if not self.owner:
            raise CommandRefused("no owner key is configured (uplink.commands.owner_keys)")
        try:
            signer = self.owner.verify(body)
        except SignatureError as exc:
            raise CommandRefused(f"signature refused: {exc}") from None
        try:
            bound_to(body, name)
        except SignatureError as exc:
            raise CommandRefused(str(exc)) from None
        if body.get("device_id") != self.device_id:
            raise CommandRefused("signed for another device")
        issued_at = _timestamp(body.get("issued_at"))
        now, skew = self.clock(), self.config.max_skew_seconds
        if abs(now - issued_at) > skew:
            raise CommandRefused("issued_at is outside the accepted window (check the clocks)")
        nonce = body.get("nonce")
        if not isinstance(nonce, str) or not 16 <= len(nonce) <= 128:
            raise CommandRefused("nonce must be a string of 16 to 128 characters")
        # Nonces older than the window are refused by time already; no need to keep them.
        self.taken.forget(NONCE, before=now - 2 * skew)
        if not self.taken.claim(NONCE, nonce, issued_at):
            raise CommandRefused("replayed: this nonce was already used")
        fields = {k: v for k, v in body.items() if k not in AUTH_FIELDS}
        return Authorised(fields, f"owner-key:{signer}")

    def signed_by_owner(self, name: str, payload: bytes) -> bool:
        """Only the signature, bound to `name`: whether the body deserves the owner's lane."""
        try:
            body = json.loads(payload)
            if not isinstance(body, dict):
                return False
            self.owner.verify(body)
            bound_to(body, name)
        except (ValueError, RecursionError, SignatureError):
            return False
        return True

    def authorise(
        self, name: str, body: dict[str, Any], retained: bool = False
    ) -> tuple[dict[str, Any], str]:
        """`uplink.command_models.Authorise`: the command's own fields, and who sent it."""
        taken = self.check(name, body, retained)
        return taken.body, taken.signer


def _timestamp(value: object) -> float:
    if not isinstance(value, str):
        raise CommandRefused("issued_at must be an ISO-8601 time with a zone")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise CommandRefused("issued_at must be an ISO-8601 time with a zone") from None
    if when.tzinfo is None:
        raise CommandRefused("issued_at must be an ISO-8601 time with a zone")
    return when.timestamp()


def signed_command(
    name: str,
    args: dict[str, Any],
    device_id: str,
    private_key: Ed25519PrivateKey,
    now: float,
) -> dict[str, Any]:
    """What the owner's tools send on `cmd/<name>`: `args` with the fields `CommandGate`
    checks, signed."""
    body = {
        **args,
        "command": name,
        "device_id": device_id,
        "issued_at": datetime.fromtimestamp(now, tz=UTC).isoformat(),
        "nonce": secrets.token_urlsafe(24),
        "key_id": key_id_of(public_key_b64(private_key)),
    }
    return sign_body(body, private_key)
