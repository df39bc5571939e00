"""The `doorbell` command line."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NoReturn

import click
from click.exceptions import NoArgsIsHelpError

from doorbell.device.system.collector import collector_paused, freeze_start_up, thaw_start_up
from doorbell.device.version import VERSION

PROG = "doorbell"

# Each command's module is imported when that command runs (or help lists them all), so
# `doorbell run` does not carry the fleet, the scenario renderer or the page's password hashing
# in memory: a device's resident size is most of its budget on a Pi.
COMMANDS = {
    "analyze": "doorbell.device.cli.analyze:analyze_cmd",
    "audit": "doorbell.device.cli.audit_cmd:audit_group",
    "clips": "doorbell.device.cli.clips:clips_group",
    "config": "doorbell.device.cli.config_cmd:config_group",
    "erase": "doorbell.device.cli.erase_cmd:erase",
    "fleet": "doorbell.device.cli.fleet_cmd:fleet",
    "mode": "doorbell.device.cli.control_cmds:mode",
    "owner": "doorbell.device.cli.owner_cmd:owner_group",
    "press": "doorbell.device.cli.control_cmds:press",
    "requests": "doorbell.device.cli.requests_cmd:requests_group",
    "run": "doorbell.device.cli.run:run",
    "scenario": "doorbell.device.cli.scenario:scenario_group",
    "service": "doorbell.device.cli.service:service",
    "setup": "doorbell.device.cli.setup_cmd:setup",
    "status": "doorbell.device.cli.control_cmds:status",
    "watch": "doorbell.device.cli.watch:watch",
    "web": "doorbell.device.cli.web_cmd:web_group",
}


class DoorbellGroup(click.Group):
    """Every mistake on the command line is one line and exit 2, said here for every command:
    click's own Usage/Try/Error block is three lines and names `--help` only."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, attr = COMMANDS[cmd_name].partition(":")
        with collector_paused():  # imports make long-lived objects, not garbage
            command: click.Command = getattr(importlib.import_module(module), attr)
            freeze_start_up()  # thawed as the command ends (main)
        return command

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._main(*args, **kwargs)
        finally:
            thaw_start_up()  # for a caller that goes on in this process (tests)

    def _main(self, *args: Any, **kwargs: Any) -> Any:
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


def main() -> None:
    # Whatever a command creates (a data dir, a database, an export) is for this account alone:
    # `doorbell requests list` run first must not leave a data dir others can read.
    os.umask(0o077)
    cli(prog_name=PROG)
