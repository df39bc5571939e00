"""`doorbell audit list [--json]|verify`: what was asked, decided and shared, tamper-evident."""

from __future__ import annotations

import json
from typing import Any

import click

from doorbell.config import LoadedConfig
from doorbell.device.cli.options import config_options
from doorbell.uplink.requests.audit import AuditLog


@click.group("audit")
def audit_group() -> None:
    """The audit log of footage requests and decisions."""


@audit_group.command("list")
@config_options
@click.option("--json", "as_json", is_flag=True, help="The entries as stored, one per line.")
def list_entries(loaded: LoadedConfig, as_json: bool) -> None:
    """Every entry, oldest first."""
    log = AuditLog.in_dir(loaded.config.device.data_dir)
    count = 0
    try:
        for entry in log.entries():
            count += 1
            if as_json:
                click.echo(json.dumps(entry, sort_keys=True))
            else:
                click.echo(_line(entry))
    except ValueError as exc:  # a line that is not JSON: what `verify` calls tampered
        click.echo(
            f"audit log unreadable after {count} entries ({exc}); see doorbell audit verify",
            err=True,
        )
        raise SystemExit(1) from None
    if count == 0 and not as_json:
        click.echo("no entries")


def _line(entry: Any) -> str:
    """One entry as a row; anything not shaped like an entry is shown as it is, not a crash."""
    if not isinstance(entry, dict):
        return f"    ? (not an audit entry) {json.dumps(entry)[:80]}"
    data = entry.get("data")
    data = data if isinstance(data, dict) else {}
    who = data.get("requester")
    who = who if isinstance(who, dict) else {}
    kind = str(entry.get("kind", "?"))
    # Who acted, or why it was refused; an entry with neither (received, expired) shows "-".
    detail = data.get("reason") or data.get("by") or "-"
    clips = data.get("clips")
    extra = f" clips={len(clips)}" if isinstance(clips, list) else ""
    requester = f" {who.get('kind')}:{who.get('name')}" if who else ""
    return (
        f"{entry.get('seq', '?'):>5} {entry.get('at', '?')} {kind:<17} "
        f"{data.get('request_id') or '-'}{requester} {detail}{extra}"
    )


@audit_group.command("verify")
@config_options
@click.option(
    "--head",
    metavar="HASH",
    help="The head hash published on <base>/audit/head: the log must still reach it.",
)
def verify(loaded: LoadedConfig, head: str | None) -> None:
    """Exit 0 if the hash chain is intact, 1 naming the first entry that was changed."""
    check = AuditLog.in_dir(loaded.config.device.data_dir).verify(head)
    if check.ok:
        click.echo(f"audit log intact: {check.entries} entries")
        return
    if check.first_bad is None:
        click.echo(f"audit log CUT: {check.reason} ({check.entries} entries verify)", err=True)
        raise SystemExit(1)
    click.echo(
        f"audit log TAMPERED at line {check.first_bad}: {check.reason} "
        f"({check.entries} entries before it verify)",
        err=True,
    )
    raise SystemExit(1)
