"""`doorbell erase [--yes]`: delete every clip, snapshot, index row, outbox message and request,
and clear the device's retained MQTT topics and Home Assistant discovery."""

from __future__ import annotations

import click

from doorbell.config import LoadedConfig
from doorbell.device.cli.options import config_options, fail
from doorbell.device.runtime.erase import DeviceRunningError, erase_device


@click.command("erase")
@config_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--local-only", is_flag=True, help="Leave the broker alone.")
def erase(loaded: LoadedConfig, yes: bool, local_only: bool) -> None:
    """Erase all user data from this device and its broker topics. Cannot be undone."""
    data_dir = loaded.config.device.data_dir
    if not yes:
        click.confirm(
            f"Erase every clip, snapshot, request and message in {data_dir}"
            + ("" if local_only else " and the device's retained MQTT topics")
            + "?",
            abort=True,
        )
    try:
        report = erase_device(loaded.config, data_dir, broker=not local_only)
    except DeviceRunningError as exc:
        fail(str(exc))
    for line in report.lines():
        click.echo(line)
    if report.mqtt_error:
        click.echo("local data erased; the broker still holds retained messages", err=True)
        raise SystemExit(1)
    click.echo("erased")
