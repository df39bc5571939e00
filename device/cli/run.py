"""`doorbell run`: the device itself."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any

import click

from config import LoadedConfig
from device.cli.options import config_options
from device.logs import setup_logging
from device.runtime import Device
from device.sources import SourceError
from uplink.mqtt_link import InsecureBrokerError


def _speed(value: str | None) -> float | str | None:
    if value is None or value == "max":
        return value
    try:
        speed = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} (allowed: a number > 0, or max)") from None
    if speed <= 0:
        raise click.BadParameter(f"{value!r} (allowed: a number > 0, or max)")
    return speed


@click.command("run")
@config_options
@click.option("--duration", type=click.FloatRange(min=0.1), help="Stop after SECONDS of video.")
@click.option("--speed", help="File/synthetic replay speed: 1, 2, ... or max.")
@click.option("--loop/--no-loop", default=None, help="Replay a file or scenario forever.")
@click.option("--log-format", type=click.Choice(["plain", "json"]), help="Log line format.")
@click.option("--summary-json", type=click.Path(path_type=Path), help="Write the run summary here.")
def run(
    loaded: LoadedConfig,
    duration: float | None,
    speed: str | None,
    loop: bool | None,
    log_format: str | None,
    summary_json: Path | None,
) -> None:
    """Run the device: camera -> motion -> recorder -> MQTT alerts."""
    config = loaded.config
    updates: dict[str, Any] = {}
    if speed is not None:
        updates["speed"] = _speed(speed)
    if loop is not None:
        updates["loop"] = loop
    if updates:
        config.camera = config.camera.model_copy(update=updates)
    setup_logging(config.runtime.log_level, log_format or config.runtime.log_format)
    try:
        device = Device(config, duration=duration, echo=click.echo)
    except (SourceError, InsecureBrokerError) as exc:
        click.echo(f"doorbell: {exc}", err=True)
        raise SystemExit(2) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    summary = device.run(stop)
    click.echo(summary.line())
    if summary_json is not None:
        summary_json.write_text(json.dumps(asdict(summary), indent=2) + "\n")
