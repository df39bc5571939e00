"""`doorbell web set-password`: the local page's password (there is no default one)."""

from __future__ import annotations

import sys

import click

from doorbell.config import LoadedConfig
from doorbell.device.cli.options import config_options, fail
from doorbell.device.web.auth import PasswordFile


@click.group("web")
def web_group() -> None:
    """The device's local page (web.listen)."""


@web_group.command("set-password")
@config_options
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def set_password(loaded: LoadedConfig, password_stdin: bool) -> None:
    """Set the page's password: only its Argon2 hash is stored (0600, in the data dir)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("new page password", hide_input=True, confirmation_prompt=True)
    files = PasswordFile(loaded.config.device.data.web_password)
    try:
        files.set(password)
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"page password set ({files.path}); a running device uses it at the next login")
