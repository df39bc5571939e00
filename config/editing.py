"""Changing the config file from the device itself (the local page's zones and masks): the file
is re-read, one list replaced, and the result checked by the same models as any YAML file before
it replaces the old one. Comments in the file are not kept (PyYAML drops them)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml

from doorbell.config.base import NamedPolygon
from doorbell.config.loader import ConfigError, load_config
from doorbell.config.schema import DoorbellConfig
from doorbell.config.sources import LayerError, read_file

PolygonKind = Literal["privacy_masks", "motion_zones"]
# Where each list lives in the file.
POLYGON_KEYS: dict[str, tuple[str, str]] = {
    "privacy_masks": ("privacy", "masks"),
    "motion_zones": ("motion", "zones"),
}


def save_polygons(file: Path, kind: PolygonKind, polygons: list[NamedPolygon]) -> DoorbellConfig:
    """Write `polygons` as the file's masks or zones; the config the file now holds (without the
    environment and flags). Raises ConfigError, the file untouched, if the result is invalid."""
    try:
        values: dict[str, Any] = dict(read_file(file).values) if file.exists() else {}
    except LayerError as exc:
        raise ConfigError(exc.lines) from None
    section, key = POLYGON_KEYS[kind]
    inner = dict(values.get(section) or {})
    inner[key] = [p.model_dump(mode="json") for p in polygons]
    values[section] = inner
    text = yaml.safe_dump(values, sort_keys=False, default_flow_style=None)
    fd, temp = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        if file.exists():
            os.chmod(temp, file.stat().st_mode & 0o777)
        config = load_config(Path(temp), environ={}).config  # the same checks as at start
        os.replace(temp, file)
    except ConfigError as exc:
        Path(temp).unlink(missing_ok=True)
        raise ConfigError([line.replace(temp, str(file)) for line in exc.lines]) from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return config
