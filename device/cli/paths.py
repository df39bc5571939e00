"""Checks that the places a command will write to can be written, made before the work starts, so
a mistyped path is one line and exit 2 at once rather than a traceback after a long run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from doorbell.device.cli.options import fail


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_data_dir(root: Path) -> None:
    """The data directory exists (or can be made) and can be written."""
    if root.exists() and not root.is_dir():
        fail(f"data dir {root}: is not a directory (--data-dir, device.data_dir)")
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
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
    """`path` can be created or overwritten (`force`); nothing is left behind by the check."""
    if path.is_dir():
        fail(f"{option} {path}: cannot write: it is a directory (give a file name)")
    if path.exists() and not force:
        fail(f"{option} {path}: exists already (give --force to overwrite it)")
    parent = path.absolute().parent
    if not parent.is_dir():
        fail(f"{option} {path}: cannot write: no such directory {parent}")
    existed = path.exists()
    try:
        with path.open("ab"):  # appends nothing: an existing file keeps its content
            pass
    except OSError as exc:
        fail(f"{option} {path}: cannot write: {_reason(exc)}")
    if not existed:
        path.unlink(missing_ok=True)
