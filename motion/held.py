"""What the detector holds from frame to frame, in bytes: each array once, since its parts share
some (the range is measured on the detector's own uint8 background; the widened range keeps the
restless model's per-pixel thresholds it was made for)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def bytes_once(arrays: Iterable[object]) -> int:
    """The bytes of the distinct arrays among `arrays` (anything else, None, is skipped)."""
    distinct = {id(a): a for a in arrays if isinstance(a, np.ndarray)}
    return sum(a.nbytes for a in distinct.values())
