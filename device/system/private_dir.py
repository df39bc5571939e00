"""The data dir is for the device's own account alone: 0700, and what is in it 0600 (0700 for
folders), whichever command made it and whatever umask that command ran with.

Every `doorbell` command runs with umask 077 (cli.main), so what it creates is private; this
tightens what already exists (made by an older version, by hand, or restored from a backup) at
the start of `run`. What cannot be tightened (another account's file) is a refusal naming it:
the device does not run with footage others can read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

OTHERS = stat.S_IRWXG | stat.S_IRWXO  # bits that let someone else in


class NotPrivate(Exception):
    """A path in the data dir others can reach, that this account cannot make private."""


def make_private(root: Path) -> int:
    """chmod away group and other bits under `root` (links are not followed); the number of
    paths changed. Raises NotPrivate naming the first path that could not be changed."""
    changed = _tighten(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            changed += _tighten(Path(folder) / name)
    return changed


def _tighten(path: Path) -> int:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:  # gone meanwhile (a clip deleted by retention)
        return 0
    if stat.S_ISLNK(mode) or not mode & OTHERS:
        return 0
    try:
        os.chmod(path, stat.S_IMODE(mode) & ~OTHERS)
    except OSError as exc:
        raise NotPrivate(
            f"{path} can be read by other accounts and cannot be made private: "
            f"{exc.strerror or exc} (chown it to this account, or chmod go= it)"
        ) from None
    return 1
