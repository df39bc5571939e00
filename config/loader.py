"""Where the configuration comes from, later wins: defaults < file < environment < flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from doorbell.config.errors import format_errors
from doorbell.config.schema import DoorbellConfig
from doorbell.config.sources import (
    Key,
    Layer,
    LayerError,
    Origin,
    merge,
    read_env,
    read_file,
    read_flags,
)

SEARCH_PATH = (Path("doorbell.yaml"), Path("/etc/doorbell/doorbell.yaml"))


class ConfigError(Exception):
    """A configuration that cannot be used; `lines` are ready to print, one per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass
class LoadedConfig:
    config: DoorbellConfig
    file: Path | None
    origins: dict[Key, Origin] = field(default_factory=dict)
    sets: list[str] = field(default_factory=list)
    shortcuts: dict[str, Any] = field(default_factory=dict)

    def reload(self) -> LoadedConfig:
        """Read the same file, environment and flags again (SIGHUP); raises ConfigError."""
        return load_config(self.file, self.sets, self.shortcuts)

    def origin_of(self, key: Key) -> Origin:
        """Who set this value: the nearest layer that set it or a list/value above it."""
        for n in range(len(key), 0, -1):
            origin = self.origins.get(key[:n])
            if origin is not None and not origin.mapping:
                return origin
        return Origin("default")


def find_config_file(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    if explicit is not None:
        return explicit
    if environ.get("DOORBELL_CONFIG"):
        return Path(environ["DOORBELL_CONFIG"])
    return next((p for p in SEARCH_PATH if p.is_file()), None)


def _overlay(origins: dict[Key, Origin], layer: Layer) -> None:
    for key in layer.origins:
        # A later layer that replaces a key also replaces everything the earlier one said below it.
        for old in [k for k in origins if len(k) > len(key) and k[: len(key)] == key]:
            del origins[old]
    origins.update(layer.origins)


def _empty_sections_as_defaults(
    values: dict[str, Any], origins: dict[Key, Origin], model: type[BaseModel], at: Key = ()
) -> None:
    """A section written with nothing under it (`motion:` with every key commented out) means
    its defaults, as if it were not there; its line still points at where it was written."""
    for name, field_info in model.model_fields.items():
        section = field_info.annotation
        if name not in values or not (isinstance(section, type) and issubclass(section, BaseModel)):
            continue
        key = (*at, name)
        if values[name] is None:
            values[name] = {}
            if key in origins:
                origins[key] = replace(origins[key], mapping=True)
        elif isinstance(values[name], dict):
            _empty_sections_as_defaults(values[name], origins, section, key)


def load_config(
    path: Path | None = None,
    sets: list[str] | None = None,
    shortcuts: dict[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Build the effective configuration or raise ConfigError with one line per problem."""
    environ = os.environ if environ is None else environ
    file = find_config_file(path, environ)
    try:
        layers = [read_file(file)] if file is not None else []
        layers.append(read_env(environ))
        layers.append(read_flags(sets or [], shortcuts))
    except LayerError as exc:
        raise ConfigError(exc.lines) from None
    values: dict[str, Any] = {}
    origins: dict[Key, Origin] = {}
    for layer in layers:
        _empty_sections_as_defaults(layer.values, layer.origins, DoorbellConfig)
        values = merge(values, layer.values)
        _overlay(origins, layer)
    try:
        config = DoorbellConfig.model_validate(values)
    except ValidationError as exc:
        fallback = f"{file}:1" if file else "(config)"
        raise ConfigError(format_errors(exc, DoorbellConfig, origins, fallback)) from None
    return LoadedConfig(config, file, origins, list(sets or []), dict(shortcuts or {}))
