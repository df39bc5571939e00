"""The device: runtime, camera sources, recording, and the emulated `Doorbell` for tests.

`from device import Doorbell` is resolved lazily, so importing any other device module does not
load the whole runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from device.emulator import Doorbell

__all__ = ["Doorbell"]


def __getattr__(name: str) -> Any:
    if name == "Doorbell":
        from device.emulator import Doorbell

        return Doorbell
    raise AttributeError(f"module 'device' has no attribute {name!r}")
