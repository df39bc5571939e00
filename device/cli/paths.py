"""Checks that the places a command will write to can be written, made before the work starts, so
a mistyped path is one line and exit 2 at once rather than a traceback after a long run."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from doorbell.device.cli.options import fail
from doorbell.device.system.private_dir import NotPrivate, make_private


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_data_dir(root: Path) -> None:
    """The data directory exists (or can be made), can be written, and is private: 0700, its
    files 0600 (tightened here), or one line naming what others can read."""
    if root.exists() and not root.is_dir():
        fail(f"data dir {root}: is not a directory (--data-dir, device.data_dir)")
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
        make_private(root)
    except NotPrivate as exc:
        fail(f"data dir {root}: {exc}")
    except OSError as exc:
        fail(f"data dir {root}: cannot write there: {_reason(exc)}")


def check_output_dir(path: Path, option: str) -> None:
    """`path` is a folder that exists (or can be made) and can be written."""
    if path.exists() and not path.is_dir():
        fail(f"{option} {path}: is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        fail(f"{option} {path}: cannot write there: {_reason(exc)}")


def check_output_file(path: Path, option: str, *, force: bool = True) -> None:
    """`path` can be created or overwritten (`force`); nothing is left behind by the check, and
    nothing is opened through a link (a dangling one would create the file it points to)."""
    if path.is_dir():
        fail(f"{option} {path}: cannot write: it is a directory (give a file name)")
    if os.path.lexists(path) and not force:
        fail(f"{option} {path}: exists already (give --force to overwrite it)")
    parent = path.absolute().parent
    if not parent.is_dir():
        fail(f"{option} {path}: cannot write: no such directory {parent}")
    try:
        if path.is_symlink() or not path.exists():
            with tempfile.TemporaryFile(dir=parent):  # the file will be made anew in there
                pass
        else:  # appends nothing: an existing file keeps its content
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW))
    except OSError as exc:
        fail(f"{option} {path}: cannot write: {_reason(exc)}")


def write_replacing(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write a file through `write` into a new temporary file beside `path` (made exclusively,
    so never through a link), then rename it onto `path`: a link at `path` is replaced, not
    followed, and a reader never sees half a file."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
