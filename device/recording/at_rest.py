"""At-rest encryption: what the device keeps on its card is age ciphertext to the owner's keys
(`privacy.e2e.at_rest`), so a stolen card shows nothing. Off, files are kept as they are."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from doorbell.uplink.e2e import AgeEncryptor

AGE = ".age"  # an encrypted file is its plain name plus this


class AtRest:
    def __init__(self, recipients: Sequence[str]) -> None:
        self._age = AgeEncryptor(recipients)

    @property
    def enabled(self) -> bool:
        return self._age.enabled

    def seal(self, path: Path) -> tuple[Path, int, str]:
        """Replace a finished plain file by its ciphertext `<name>.age`; returns (path, bytes,
        sha256 of what is stored). Only when `enabled`."""
        assert self.enabled
        target = path.with_name(path.name + AGE)
        partial = target.with_name(target.name + ".partial")
        self._age.encrypt_file(path, partial)
        partial.replace(target)
        path.unlink()
        data = target.read_bytes()
        return target, len(data), hashlib.sha256(data).hexdigest()

    def write(self, path: Path, data: bytes) -> Path:
        """Store `data` as `path` (plain) or `path.age` (encrypted); the plain bytes never reach
        the card when encryption is on. Written under a temporary name, then renamed."""
        target = path.with_name(path.name + AGE) if self.enabled else path
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(self._age.encrypt(data))
        partial.replace(target)
        return target
