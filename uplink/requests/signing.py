"""Ed25519 signatures over a canonical serialisation of a JSON body (docs/security.md).

Signed bytes: the body as a JSON object WITHOUT its `signature` member, serialised by the JSON
Canonicalization Scheme, RFC 8785 (JCS: keys sorted by their UTF-16 code units at every level, no
whitespace, strings escaped only where JSON must, numbers as ECMAScript prints them), in UTF-8; so
an owner's or requester's app in any language with a JCS library signs the same bytes. For bodies
of strings, integers, booleans and ASCII keys this is byte for byte the earlier rule (Python's
`json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`). `signature` is the
standard base64 of the 64-byte Ed25519 signature. `key_id` (optional, covered by the signature)
names the key; without it every trusted key is tried. Keys are base64 of the raw 32-byte public
key.

Every signed body names what it authorises in `command` (the `<name>` of the topic
`<base>/cmd/<name>` it is meant for: `mode`, `footage_request`, `footage_decision`...), and
`bound_to` refuses it anywhere else: a signature for `ping` never runs a `snapshot`, a requester's
signed request is never an owner's decision.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import rfc8785

if TYPE_CHECKING:  # cryptography costs ~7 MB resident: loaded only once a key is configured
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )


class SignatureError(Exception):
    """Unsigned, badly signed, or signed by a key that is not trusted."""


def canonical_bytes(body: dict[str, Any]) -> bytes:
    """RFC 8785 of `body` without `signature`; raises ValueError for what JCS cannot express
    (NaN, infinities, integers beyond 2**53)."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return rfc8785.dumps(unsigned)


def bound_to(body: dict[str, Any], command: str) -> None:
    """Raises SignatureError unless the signed `body` names `command` as what it authorises."""
    named = body.get("command")
    if named != command:
        shown = repr(named[:64]) if isinstance(named, str) else "nothing"
        raise SignatureError(f"signed for {shown}, not for {command!r} (the 'command' field)")


def key_id_of(public_key_b64: str) -> str:
    """A short stable name for a key: first 16 hex digits of sha256 of the raw key."""
    return hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()[:16]


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign_body(body: dict[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """A copy of `body` with `signature` set: what a requester or the owner's app does."""
    signed = {k: v for k, v in body.items() if k != "signature"}
    signed["signature"] = base64.b64encode(private_key.sign(canonical_bytes(signed))).decode()
    return signed


class KeyRing:
    """The public keys allowed to sign one kind of message."""

    def __init__(self, keys_b64: Sequence[str]) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}
        if keys_b64:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        for key in keys_b64:
            raw = base64.b64decode(key)
            self._keys[key_id_of(key)] = Ed25519PublicKey.from_public_bytes(raw)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def verify(self, body: dict[str, Any]) -> str:
        """The id of the key that signed `body`; raises SignatureError otherwise."""
        signature_b64 = body.get("signature")
        if not isinstance(signature_b64, str) or not signature_b64:
            raise SignatureError("unsigned")
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("signature is not base64") from None
        if len(signature) != 64:
            raise SignatureError("signature is not 64 bytes")
        try:
            message = canonical_bytes(body)
        except (TypeError, ValueError):
            raise SignatureError("body cannot be serialised canonically") from None
        key_id = body.get("key_id")
        if key_id is not None and not isinstance(key_id, str):
            raise SignatureError("key_id is not a string")
        if key_id is not None:
            candidates = [(key_id, self._keys[key_id])] if key_id in self._keys else []
        else:
            candidates = list(self._keys.items())
        if not candidates:
            raise SignatureError("signed by an unknown key")
        from cryptography.exceptions import InvalidSignature

        for kid, key in candidates:
            try:
                key.verify(signature, message)
            except InvalidSignature:
                continue
            return kid
        raise SignatureError("bad signature")
