"""The version the device reports in telemetry and discovery."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("doorbell")
except PackageNotFoundError:  # running from a source tree that was not installed
    VERSION = "0.0.0+source"
