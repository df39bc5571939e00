"""`doorbell mode`, `doorbell press`, `doorbell status`: talk to the running device."""

from __future__ import annotations

import json
from typing import Any

import click

from doorbell.config import LoadedConfig
from doorbell.config.device import MODES
from doorbell.device.cli.options import config_options
from doorbell.device.runtime.control import ControlError, send


def _ask(loaded: LoadedConfig, request: dict[str, Any]) -> dict[str, Any]:
    path = loaded.config.device.data.control_socket
    try:
        reply = send(path, request)
    except ControlError as exc:
        click.echo(f"doorbell: {exc}", err=True)
        raise SystemExit(1) from None
    if not reply.get("ok"):
        click.echo(f"doorbell: {reply.get('error')}", err=True)
        raise SystemExit(1)
    return reply


@click.command("mode")
@config_options
@click.argument("mode", type=click.Choice(MODES))
def mode(loaded: LoadedConfig, mode: str) -> None:
    """Set the running device's mode (it is remembered across restarts)."""
    reply = _ask(loaded, {"cmd": "mode", "mode": mode})
    click.echo(f"mode: {reply['mode']}")


@click.command("press")
@config_options
def press(loaded: LoadedConfig) -> None:
    """Ring the running device's doorbell, as if its button was pressed."""
    reply = _ask(loaded, {"cmd": "press"})
    click.echo(f"ring: {reply.get('event_id')}")


@click.command("status")
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print the raw status JSON.")
def status(loaded: LoadedConfig, as_json: bool) -> None:
    """Show the running device's health: mode, fps, drops, outbox, disk."""
    reply = _ask(loaded, {"cmd": "status"})
    reply.pop("ok", None)
    reply.pop("error", None)
    if as_json:
        click.echo(json.dumps(reply, indent=2))
        return
    width = max(len(k) for k in reply)
    for key, value in reply.items():
        click.echo(f"{key:<{width}}  {value}")
