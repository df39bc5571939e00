"""Options shared by every command that reads the configuration (`--config`, `--set`, ...)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import click

from doorbell.config import ConfigError, LoadedConfig, load_config


def broker_settings(url: str) -> dict[str, Any]:
    """`embedded`, `mqtt://host:port` or `mqtts://host:port` as mqtt.* settings."""
    if url == "embedded":
        return {
            "mqtt.host": "127.0.0.1",
            "mqtt.port": 1883,
            "mqtt.tls": False,
            "mqtt.embedded": True,
        }
    allowed = "allowed: embedded, mqtt://HOST[:PORT], mqtts://HOST[:PORT]"
    try:
        parts = urlsplit(url)
        hostname, port = parts.hostname, parts.port
    except ValueError as exc:  # an unclosed [IPv6 bracket, a port that is not a number
        raise click.BadParameter(f"{url!r}: {exc} ({allowed})", param_hint="--broker") from None
    if parts.scheme not in ("mqtt", "mqtts") or not hostname:
        raise click.BadParameter(f"{url!r} ({allowed})", param_hint="--broker")
    if parts.username is not None or parts.password is not None:
        # a password on the command line is visible to every user of the machine (ps)
        raise click.BadParameter(
            f"{url!r}: no credentials in the URL; set mqtt.username and mqtt.password_file",
            param_hint="--broker",
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise click.BadParameter(
            f"{url!r}: an MQTT broker has no path or query ({allowed})", param_hint="--broker"
        )
    tls = parts.scheme == "mqtts"
    return {
        "mqtt.host": hostname,
        "mqtt.port": port or (8883 if tls else 1883),
        "mqtt.tls": tls,
        "mqtt.embedded": False,
    }


def fail(message: str) -> NoReturn:
    """A user error: one line on stderr, exit status 2, no traceback."""
    fail_config([f"doorbell: {message}"])


def fail_config(lines: list[str]) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    raise SystemExit(2)


def config_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the configuration flags and passes `loaded: LoadedConfig` instead of them."""

    @click.option(
        "--config", "config_path", type=click.Path(path_type=Path), help="YAML config file."
    )
    @click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a key, e.g. motion.threshold=30.",
    )
    @click.option(
        "--camera", help="synthetic[:SCENARIO] | file:PATH | opencv:INDEX_OR_URL | picamera2"
    )
    @click.option("--broker", help="embedded | mqtt://HOST:PORT | mqtts://HOST:PORT")
    @click.option("--device-id", help="Device id (MQTT client id and topic segment).")
    @click.option(
        "--data-dir", type=click.Path(path_type=Path), help="Where clips, index and outbox live."
    )
    @click.option(
        "--log-level",
        type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    )
    @functools.wraps(func)
    def wrapper(
        config_path: Path | None,
        sets: tuple[str, ...],
        camera: str | None,
        broker: str | None,
        device_id: str | None,
        data_dir: Path | None,
        log_level: str | None,
        **kwargs: Any,
    ) -> Any:
        shortcuts: dict[str, Any] = {}
        if camera is not None:
            shortcuts["camera.source"] = camera
        if broker is not None:
            shortcuts.update(broker_settings(broker))
        if device_id is not None:
            shortcuts["device.id"] = device_id
        if data_dir is not None:
            shortcuts["device.data_dir"] = str(data_dir)
        if log_level is not None:
            shortcuts["runtime.log_level"] = log_level.upper()
        extra = kwargs.pop("_extra_shortcuts", None) or {}
        shortcuts.update(extra)
        try:
            loaded: LoadedConfig = load_config(config_path, list(sets), shortcuts)
        except ConfigError as exc:
            fail_config(exc.lines)
        return func(loaded=loaded, **kwargs)

    return wrapper
