"""`doorbell run`: the device itself."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click
from pydantic import ValidationError

from doorbell.config import ConfigError, DoorbellConfig, LoadedConfig
from doorbell.config.camera import CameraConfig
from doorbell.device.cli.options import config_options, fail
from doorbell.device.cli.paths import check_data_dir, check_output_file
from doorbell.device.runtime.device import Device
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.runtime.startup import open_device
from doorbell.device.sources import SourceError
from doorbell.device.system.collector import collector_paused, freeze_start_up
from doorbell.device.system.data_dir_lock import DataDirInUse, DataDirLock
from doorbell.device.system.logs import setup_logging
from doorbell.device.system.memory import limit_malloc_arenas
from doorbell.device.web import WebRefused
from doorbell.uplink.embedded_broker import BrokerError
from doorbell.uplink.mqtt_link import InsecureBrokerError


def _speed(value: str) -> float | str:
    if value == "max":
        return value
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} (allowed: a number > 0, or max)", param_hint="--speed"
        ) from None


def _with_run_flags(config: DoorbellConfig, speed: str | None, loop: bool | None) -> DoorbellConfig:
    """`--speed` and `--loop` over the camera section, checked by its model (bounds, finite)."""
    updates: dict[str, Any] = {}
    if speed is not None:
        updates["speed"] = _speed(speed)
    if loop is not None:
        updates["loop"] = loop
    if updates:
        try:
            config.camera = CameraConfig.model_validate(config.camera.model_dump() | updates)
        except ValidationError as exc:
            allowed = "a number > 0 and <= 1000, or max"
            raise click.BadParameter(
                f"{speed!r}: {exc.errors()[0]['msg']} (allowed: {allowed})", param_hint="--speed"
            ) from None
    return config


def _progress(device: Device, stop: threading.Event, duration: float | None) -> None:
    """A status line on a terminal: frames, speed, events."""
    while not stop.wait(0.5):
        frames = device.pipeline.stats.frames
        video = frames / device.source.fps
        done = f" {100 * video / duration:5.1f}%" if duration else ""
        click.echo(
            f"\r{frames} frames, {video:.0f} s of video{done}, {device.alerts.count} events ",
            nl=False,
            err=True,
        )
    click.echo("", err=True)


def _keyboard(device: Device, stop: threading.Event) -> None:
    """Enter on the terminal rings the bell, like the button would."""
    for _line in sys.stdin:
        if stop.is_set():
            return
        device.reactions.press()


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
    """Run the device: camera -> motion -> recorder -> MQTT alerts. Enter on a terminal rings."""
    os.umask(0o077)  # as cli.main does, for a caller that invokes `run` itself
    limit_malloc_arenas()  # before any of the device's threads allocates
    config = _with_run_flags(loaded.config, speed, loop)
    check_data_dir(config.device.data_dir)
    if summary_json is not None:
        check_output_file(summary_json, "--summary-json")
    lock = DataDirLock(config.device.data.lock)
    try:
        lock.acquire()
    except DataDirInUse as exc:
        fail(str(exc))
    try:
        _run_device(loaded, config, duration, speed, loop, log_format, summary_json)
    finally:
        lock.release()


def _run_device(
    loaded: LoadedConfig,
    config: DoorbellConfig,
    duration: float | None,
    speed: str | None,
    loop: bool | None,
    log_format: str | None,
    summary_json: Path | None,
) -> None:
    setup_logging(config.runtime.log_level, log_format or config.runtime.log_format)

    def reload() -> DoorbellConfig:
        try:
            return _with_run_flags(loaded.reload().config, speed, loop)
        except ConfigError as exc:
            raise ValueError("; ".join(exc.lines)) from None

    # Building the device makes long-lived objects, not garbage: no collections over them now
    # or later (device.system.collector).
    with collector_paused():
        try:
            options = RunOptions(
                duration=duration,
                echo=click.echo,
                reload=reload,
                mode_from_flag=loaded.origin_of(("device", "mode")).kind == "flag",
                loaded=loaded,
            )
            device = open_device(config, options)
        except (SourceError, InsecureBrokerError, BrokerError, WebRefused) as exc:
            fail(str(exc))
        except OSError as exc:  # a data dir it cannot even create its files in (a card full
            # from the first start): one line, not a traceback; a card that fills later is a
            # state, not this
            where = f" ({exc.filename})" if exc.filename else ""
            fail(f"cannot start in {config.device.data_dir}: {exc.strerror or exc}{where}")
        freeze_start_up()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGHUP, lambda signum, frame: device.request_reload())
    if sys.stderr.isatty() and config.camera.speed == "max":
        threading.Thread(target=_progress, args=(device, stop, duration), daemon=True).start()
    if sys.stdin.isatty():
        click.echo("press Enter to ring the doorbell", err=True)
        threading.Thread(target=_keyboard, args=(device, stop), daemon=True).start()
    summary = device.run(stop)
    stop.set()
    click.echo(summary.line())
    if summary_json is not None:
        summary_json.write_text(json.dumps(summary.to_json(), indent=2) + "\n")
