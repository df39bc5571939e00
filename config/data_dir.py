"""Every file the device keeps under its data directory, named once.

The device, its CLI and the uplink all open files here; each asks `DataDir` for the path rather
than spelling a file name, so a layout change (or an audit of what is kept) has one place to look.
It lives in `config/` because both `device/` and `uplink/` need it and neither may import the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    root: Path

    # -- SQLite databases and logs ----------------------------------------------------------------
    @property
    def index(self) -> Path:
        """Events, clips and snapshots (device.storage.index)."""
        return self.root / "index.sqlite"

    @property
    def outbox(self) -> Path:
        """Messages not yet acknowledged by the broker (uplink.outbox)."""
        return self.root / "outbox.sqlite"

    @property
    def requests(self) -> Path:
        """Footage requests seen and their decisions (uplink.requests.store)."""
        return self.root / "requests.sqlite"

    @property
    def audit(self) -> Path:
        """The hash-chained audit log of requests and decisions."""
        return self.root / "audit.jsonl"

    # -- small state files ------------------------------------------------------------------------
    @property
    def mode(self) -> Path:
        """The mode last set by the owner, kept across restarts."""
        return self.root / "mode.json"

    @property
    def lock(self) -> Path:
        """Held (flock) by the running device: one device per data dir; holds its PID."""
        return self.root / "doorbell.lock"

    @property
    def control_socket(self) -> Path:
        """The local control socket of a running device (`doorbell mode`, `status`, `press`)."""
        return self.root / "control.sock"

    # -- folders of media -------------------------------------------------------------------------
    @property
    def clips(self) -> Path:
        return self.root / "clips"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def outgoing(self) -> Path:
        """Bundles being uploaded for an approved footage request, one folder per request."""
        return self.root / "outgoing"

    def relative(self, path: Path) -> str:
        """How the index stores a file: relative to the data dir, so the dir can move."""
        return str(path.relative_to(self.root))

    def resolve(self, stored: str) -> Path:
        return self.root / stored
