"""`doorbell fleet`: many emulated doorbells in one process against a broker (a load test)."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from doorbell.config import LoadedConfig
from doorbell.device.cli.options import config_options, fail
from doorbell.device.emulation.fleet_run import FleetPlan, run_fleet
from doorbell.device.emulation.scenarios import ScenarioError
from doorbell.device.sources import SourceError
from doorbell.device.system.logs import setup_logging
from doorbell.uplink.mqtt_link import InsecureBrokerError, refuse_insecure

# Locust users that are emulated doorbells, for Locust's distributed mode (needs locust).
LOCUSTFILE = Path(__file__).resolve().parent.parent / "emulation" / "locustfile.py"


def _print_locustfile(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(LOCUSTFILE)
        ctx.exit()


@click.command("fleet")
@click.option(
    "--locustfile",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_locustfile,
    help="Print the path of the shipped locustfile (fleets over many machines) and exit.",
)
@config_options
@click.option(
    "--devices",
    type=click.IntRange(1, 100_000),
    default=10,
    show_default=True,
    help="How many emulated doorbells, each with its own id, outbox and MQTT connection.",
)
@click.option(
    "--scenario",
    default="walk_up_ring",
    show_default=True,
    help="The scene every device shows (its visits staggered across devices).",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=1.0, max=7 * 24 * 3600.0),
    default=60.0,
    show_default=True,
    help="Simulated seconds to run.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0.01, max=1000.0),
    default=1.0,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option(
    "--analysis-fps",
    type=click.FloatRange(min=0.1, max=30.0),
    default=1.0,
    show_default=True,
    help="Frames a second each device analyses (shared: analysed once per distinct picture).",
)
@click.option(
    "--connect-timeout",
    type=click.FloatRange(min=1.0, max=3600.0),
    default=30.0,
    show_default=True,
    help="Seconds to wait for the broker (the subscriber and every device); none: it ends.",
)
@click.option("--id-prefix", default="fleet", show_default=True, help="Device ids: PREFIX-001, ...")
@click.option("--summary-json", type=click.Path(path_type=Path), help="Write the summary here.")
def fleet(
    loaded: LoadedConfig,
    devices: int,
    scenario: str,
    duration: float,
    speed: float,
    analysis_fps: float,
    connect_timeout: float,
    id_prefix: str,
    summary_json: Path | None,
) -> None:
    """Run DEVICES emulated doorbells against --broker: per-second alerts sent, acknowledged and
    delivered, latency percentiles and errors. Clips are off (record.mode: off)."""
    config = loaded.config
    setup_logging("WARNING", config.runtime.log_format)  # per-device INFO lines would drown it
    logging.getLogger("doorbell.device.emulation.fleet").setLevel(config.runtime.log_level)
    try:
        refuse_insecure(config.mqtt, config.uplink.allow_insecure)
    except InsecureBrokerError as exc:
        fail(str(exc))
    if config.mqtt.embedded:
        fail("a fleet needs a broker to talk to: --broker mqtt://HOST:PORT (not embedded)")
    # Data dirs: under --data-dir when one is given, else a temporary dir removed afterwards.
    root = None
    if loaded.origin_of(("device", "data_dir")).kind != "default":
        root = config.device.data_dir / "fleet"
    plan = FleetPlan(
        devices, scenario, duration, speed, analysis_fps, id_prefix, root, connect_timeout
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    progress = (lambda line: click.echo(line, nl=False, err=True)) if sys.stderr.isatty() else None
    try:
        summary = run_fleet(config, plan, click.echo, progress, stop)
    except (ScenarioError, SourceError, ValueError) as exc:
        fail(str(exc))
    if summary_json is not None:
        summary_json.write_text(json.dumps(summary, indent=2) + "\n")
    if summary["errors"] or summary["missing"]:
        raise SystemExit(1)
