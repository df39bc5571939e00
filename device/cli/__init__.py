"""The `doorbell` command line."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click
from click.exceptions import NoArgsIsHelpError

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
from device.cli.setup_cmd import setup
from device.cli.watch import watch
from device.cli.web_cmd import web_group
from device.version import VERSION

PROG = "doorbell"


class DoorbellGroup(click.Group):
    """Every mistake on the command line is one line and exit 2, said here for every command:
    click's own Usage/Try/Error block is three lines and names `--help` only."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("standalone_mode", True) is False:  # the caller handles what is raised
            return super().main(*args, **kwargs)
        kwargs.update(standalone_mode=False, prog_name=PROG)
        try:
            # -h and --version end in click's Exit: with standalone_mode off it returns the code
            code = super().main(*args, **kwargs)
        except NoArgsIsHelpError as exc:  # `doorbell` alone, or a group alone: its help
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else PROG
            say(f"{exc.format_message()} ({command} -h for help)", exc.exit_code)
        except click.ClickException as exc:
            say(exc.format_message(), exc.exit_code)
        except click.Abort:
            say("Aborted.", 1)
        sys.exit(code if isinstance(code, int) else 0)


def say(message: str, code: int) -> NoReturn:
    click.echo(f"{PROG}: {' '.join(message.split())}", err=True)
    sys.exit(code)


@click.group(cls=DoorbellGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
cli.add_command(setup)
cli.add_command(watch)
cli.add_command(requests_group)
cli.add_command(audit_group)
cli.add_command(erase)
cli.add_command(owner_group)
cli.add_command(web_group)
cli.add_command(fleet)


def main() -> None:
    cli(prog_name=PROG)
