"""`doorbell clips list|show|export [--redact]|keep|delete`: the recordings on this device."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

import click

from doorbell.config import LoadedConfig
from doorbell.device.cli.options import config_options, fail
from doorbell.device.cli.paths import check_output_file, write_replacing
from doorbell.device.storage.index import ClipRow, EventIndex
from doorbell.device.storage.retention import Retention
from doorbell.uplink.e2e import E2EError, decrypt_file, is_age_file
from doorbell.uplink.messages import iso_utc


def _index(loaded: LoadedConfig) -> EventIndex:
    files = loaded.config.device.data
    if not files.index.exists():
        click.echo(f"doorbell: no recordings in {files.root}", err=True)
        raise SystemExit(1)
    return EventIndex(files.index)


def _clip(index: EventIndex, clip_id: str) -> ClipRow:
    clip = index.get_clip(clip_id)
    if clip is None:
        fail(f"no clip {clip_id!r}")
    return clip


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    """Times to the millisecond: 4.533 s, not 4.5333559999999995."""
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}


@click.group("clips")
def clips_group() -> None:
    """List, export, keep or delete recorded clips."""


@clips_group.command("list")
@config_options
@click.option("--json", "as_json", is_flag=True)
def list_cmd(loaded: LoadedConfig, as_json: bool) -> None:
    """Every clip, oldest first."""
    rows = _index(loaded).clips()
    if as_json:
        click.echo(json.dumps([_rounded(asdict(r)) for r in rows], indent=2))
        return
    width = max([36, *(len(r.id) for r in rows)])  # an event's UUID, or a longer segment id
    click.echo(
        f"{'id':<{width}}  {'start (UTC)':<24}  {'seconds':>7}  {'MB':>6}  {'state':<9}  keep"
    )
    for r in rows:
        click.echo(
            f"{r.id:<{width}}  {iso_utc(r.start_wall):<24}  {r.seconds:7.1f}  "
            f"{r.bytes / 1e6:6.2f}  {r.state:<9}  {'yes' if r.keep else ''}"
        )


@clips_group.command("show")
@config_options
@click.argument("clip_id")
def show_cmd(loaded: LoadedConfig, clip_id: str) -> None:
    """One clip's details, as JSON."""
    click.echo(json.dumps(_rounded(asdict(_clip(_index(loaded), clip_id))), indent=2))


@clips_group.command("export")
@config_options
@click.argument("clip_id")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option(
    "--identity",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="age identity file: decrypt a clip stored encrypted (privacy.e2e.at_rest).",
)
@click.option("--force", is_flag=True, help="Overwrite DEST if it exists.")
@click.option(
    "--redact",
    is_flag=True,
    help="Fill every face in the copy with one colour, as a footage share does (the clip on "
    "the device stays as recorded).",
)
def export_cmd(
    loaded: LoadedConfig,
    clip_id: str,
    dest: Path,
    identity: Path | None,
    force: bool,
    redact: bool,
) -> None:
    """Copy a clip out of the device (DEST may be a folder), decrypting it with --identity."""
    clip = _clip(_index(loaded), clip_id)
    source = loaded.config.device.data_dir / clip.file
    if not source.is_file():
        fail(f"clip {clip_id!r}: its file {source} is missing")
    encrypted = is_age_file(source)
    name = source.name.removesuffix(".age") if encrypted and identity else source.name
    target = dest / name if dest.is_dir() else dest
    check_output_file(target, "DEST", force=force)
    if redact and encrypted and identity is None:
        fail(f"clip {clip_id!r} is stored encrypted: give --identity to redact it")
    try:
        if redact:
            _export_redacted(source, target, identity if encrypted else None)
        elif encrypted and identity is not None:
            plain = decrypt_file(source, identity)
            write_replacing(target, lambda out: _write_all(out, plain))
        else:
            with source.open("rb") as recorded:
                write_replacing(target, lambda out: shutil.copyfileobj(recorded, out))
    except E2EError as exc:
        fail(str(exc))
    except OSError as exc:  # a disk that fills up while copying
        fail(f"DEST {target}: {exc.strerror or exc}")
    click.echo(
        f"exported {target}"
        + (" (still encrypted: give --identity)" if encrypted and not identity else "")
        + (" (faces filled)" if redact else "")
    )


def _write_all(out: BinaryIO, data: bytes) -> None:
    out.write(data)


def _export_redacted(source: Path, target: Path, identity: Path | None) -> None:
    """The owner's own sharing: a copy with every face filled, and the head of every person
    whose face is not found (decrypted first, given the identity of a clip stored encrypted)."""
    from doorbell.device.redaction.people import open_person_finder
    from doorbell.uplink.requests.redaction import RedactionError, Redactor  # the model: here

    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        if identity is not None:
            plain = Path(tmp) / "plain.mp4"
            plain.write_bytes(decrypt_file(source, identity))
            source = plain
        redacted = Path(tmp) / "redacted.mp4"
        try:
            Redactor(people=open_person_finder).clip(source, redacted)
        except RedactionError as exc:
            fail(str(exc))
        # Renamed onto DEST, as every export is: a link there is replaced, never followed.
        redacted.replace(target)


@clips_group.command("keep")
@config_options
@click.argument("clip_id")
@click.option("--undo", is_flag=True, help="Let retention delete it again.")
def keep_cmd(loaded: LoadedConfig, clip_id: str, undo: bool) -> None:
    """Protect a clip from retention."""
    index = _index(loaded)
    _clip(index, clip_id)
    index.set_keep(clip_id, not undo)
    click.echo(f"{clip_id}: {'not kept' if undo else 'kept'}")


@clips_group.command("delete")
@config_options
@click.argument("clip_id")
def delete_cmd(loaded: LoadedConfig, clip_id: str) -> None:
    """Delete a clip with its events' snapshots, thumbnails and history, and any copy of it
    waiting to be shared."""
    index = _index(loaded)
    clip = _clip(index, clip_id)
    Retention(index, loaded.config.device.data, loaded.config.storage).delete_clip(clip)
    click.echo(f"deleted {clip_id}")
