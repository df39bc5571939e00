"""`doorbell audit list [--json]|verify`: what was asked, decided and shared, tamper-evident."""

from __future__ import annotations

import json

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
    for entry in log.entries():
        count += 1
        if as_json:
            click.echo(json.dumps(entry, sort_keys=True))
            continue
        data = entry.get("data", {})
        who = data.get("requester", {})
        # Who acted, or why it was refused; an entry with neither (received, expired) shows "-".
        detail = data.get("reason") or data.get("by") or "-"
        clips = data.get("clips")
        extra = f" clips={len(clips)}" if isinstance(clips, list) else ""
        requester = f" {who.get('kind')}:{who.get('name')}" if who else ""
        click.echo(
            f"{entry['seq']:>5} {entry['at']} {entry['kind']:<17} "
            f"{data.get('request_id') or '-'}{requester} {detail}{extra}"
        )
    if count == 0 and not as_json:
        click.echo("no entries")


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
