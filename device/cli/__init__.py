"""The `doorbell` command line."""

from __future__ import annotations

import click

from device.cli.analyze import analyze_cmd
from device.cli.audit_cmd import audit_group
from device.cli.clips import clips_group
from device.cli.config_cmd import config_group
from device.cli.control_cmds import mode, press, status
from device.cli.erase_cmd import erase
from device.cli.fleet_cmd import fleet
from device.cli.owner_cmd import owner_group
from device.cli.requests_cmd import requests_group
from device.cli.run import run
from device.cli.scenario import scenario_group
from device.cli.service import service
from device.cli.watch import watch
from device.version import VERSION


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="doorbell")
def cli() -> None:
    """Edge video doorbell: motion alerts over MQTT, clips with pre-roll, privacy by design."""


cli.add_command(analyze_cmd)
cli.add_command(clips_group)
cli.add_command(config_group)
cli.add_command(mode)
cli.add_command(press)
cli.add_command(status)
cli.add_command(run)
cli.add_command(scenario_group)
cli.add_command(service)
cli.add_command(watch)
cli.add_command(requests_group)
cli.add_command(audit_group)
cli.add_command(erase)
cli.add_command(owner_group)
cli.add_command(fleet)


def main() -> None:
    cli(prog_name="doorbell")
