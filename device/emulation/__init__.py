"""What only emulates a doorbell, for CI and developers: the emulated `Doorbell` (the whole
runtime on a scripted camera, in a thread), the synthetic camera and its scenes, the fleet and its
Locust load test, a real mosquitto on a free port, and the pytest plugin built from them.

The firmware (everything else under `doorbell.device`) never imports this package; the one
exception is the `synthetic:` camera source, which `doorbell.device.sources.open_source` loads
when asked for it (tests/test_layering.py holds both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doorbell.device.emulation.emulator import Doorbell

__all__ = ["Doorbell"]


def __getattr__(name: str) -> Any:
    # Lazily, so that importing one harness module (the pytest plugin) loads no runtime.
    if name == "Doorbell":
        from doorbell.device.emulation.emulator import Doorbell

        return Doorbell
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
