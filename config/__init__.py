"""Configuration: pydantic models per section, loaded from defaults, file, environment and flags."""

from doorbell.config.loader import ConfigError, LoadedConfig, load_config
from doorbell.config.schema import DoorbellConfig

__all__ = ["ConfigError", "DoorbellConfig", "LoadedConfig", "load_config"]
