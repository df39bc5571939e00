"""`doorbell config check|show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import BaseModel, SecretStr

from doorbell.config import ConfigError, LoadedConfig, load_config
from doorbell.config.sources import Key
from doorbell.device.cli.options import config_options, fail_config


@click.group("config")
def config_group() -> None:
    """Check or show the configuration."""


@config_group.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option(
    "--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a key, as `run` takes it."
)
def check(path: Path | None, sets: tuple[str, ...]) -> None:
    """Exit 0 if the configuration is valid; else one line per error and exit 2."""
    try:
        loaded = load_config(path, list(sets))
    except ConfigError as exc:
        fail_config(exc.lines)
    click.echo(f"{loaded.file or '(defaults)'}: ok")


def _scalar(value: Any) -> str:
    if isinstance(value, SecretStr):
        return '"**********"'
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_jsonable(value))
    text = yaml.safe_dump(value, default_flow_style=True).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def render(loaded: LoadedConfig) -> str:
    """The effective configuration as YAML, secrets redacted, each value marked with its origin."""
    lines: list[str] = []

    def walk(model: BaseModel, path: Key, indent: int) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            key = path + (name,)
            pad = "  " * indent
            if isinstance(value, BaseModel):
                lines.append(f"{pad}{name}:")
                walk(value, key, indent + 1)
                continue
            origin = loaded.origin_of(key)
            mark = origin.kind if origin.kind == "default" else f"{origin.kind}: {origin.where}"
            lines.append(f"{pad}{name}: {_scalar(value)}  # {mark}")

    walk(loaded.config, (), 0)
    return "\n".join(lines) + "\n"


@config_group.command("show")
@config_options
def show(loaded: LoadedConfig) -> None:
    """Print the effective configuration as YAML, each value marked default, file, env or flag."""
    click.echo(render(loaded), nl=False)
