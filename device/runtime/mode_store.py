"""The device's mode on disk, so a mode set from the app or the CLI survives a restart."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import cast, get_args

from doorbell.config.device import Mode


class ModeStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Mode | None:
        try:
            mode = json.loads(self.path.read_text()).get("mode")
        except (OSError, ValueError, AttributeError):
            return None
        return cast(Mode, mode) if mode in get_args(Mode) else None

    def save(self, mode: Mode) -> None:
        # Write-then-rename with fsync: a power cut leaves the old mode or the new, never half.
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w") as fh:
            json.dump({"mode": mode}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)
