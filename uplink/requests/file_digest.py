"""The SHA-256 of a file, read in chunks: a share's clips (what is sent, and said in the reply)
and the person model the share worker loaded (device/classify/int8_weights.py). Nothing else
imported: the worker's person pass uses it."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 16  # a model read whole would be 5-10 MB more of a share worker's peak


def file_sha256(path: Path) -> str:
    """Hex digest of the file's bytes; raises OSError."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
