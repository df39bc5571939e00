"""End-to-end encryption with age (X25519 recipients): what leaves the device is ciphertext.

The owner's phones hold the identities; the device only ever sees public keys, so a broker, a
bucket or a requester without a key gets nothing readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyrage import x25519

# pyrage is imported where it is used: a device without recipients never loads it (1 MB resident).


class E2EError(Exception):
    """A recipient or identity that age cannot use, or data that does not decrypt."""


def parse_recipients(recipients: Sequence[str]) -> list[x25519.Recipient]:
    if not recipients:
        return []
    import pyrage

    try:
        return [pyrage.x25519.Recipient.from_str(r.strip()) for r in recipients]
    except pyrage.RecipientError as exc:
        raise E2EError(f"bad age recipient: {exc}") from None


class AgeEncryptor:
    """Encrypts to the configured recipients; with none configured it passes data through, so
    callers need not branch (check `enabled` when the difference matters, e.g. file names)."""

    def __init__(self, recipients: Sequence[str]) -> None:
        self._recipients = parse_recipients(recipients)

    @property
    def enabled(self) -> bool:
        return bool(self._recipients)

    def encrypt(self, data: bytes) -> bytes:
        if not self._recipients:
            return data
        import pyrage

        return bytes(pyrage.encrypt(data, self._recipients))

    def encrypt_file(self, source: Path, target: Path) -> None:
        """Writes `target` (ciphertext, or a plain copy when disabled) without holding the clip
        twice in memory."""
        if not self._recipients:
            target.write_bytes(source.read_bytes())
            return
        import pyrage

        pyrage.encrypt_file(str(source), str(target), self._recipients)


def read_identities(identity_file: Path) -> list[x25519.Identity]:
    """`AGE-SECRET-KEY-1...` lines as written by `age-keygen`; comments and blanks skipped."""
    import pyrage

    identities = []
    for line in identity_file.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except pyrage.IdentityError as exc:
            raise E2EError(f"{identity_file}: bad age identity: {exc}") from None
    if not identities:
        raise E2EError(f"{identity_file}: no age identity in it")
    return identities


def is_age_file(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(21) == b"age-encryption.org/v1"


def decrypt_file(path: Path, identity_file: Path) -> bytes:
    """Plaintext of an age-encrypted file (e.g. an at-rest clip for `doorbell clips export`)."""
    import pyrage

    identities = read_identities(identity_file)
    try:
        return bytes(pyrage.decrypt(path.read_bytes(), identities))
    except pyrage.DecryptError as exc:
        raise E2EError(f"{path}: cannot decrypt with {identity_file}: {exc}") from None
