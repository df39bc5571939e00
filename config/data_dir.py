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

    @property
    def replay_guard(self) -> Path:
        """Digests of request ids and command nonces already taken; kept through `erase`."""
        return self.root / "replay-guard.sqlite"

    @property
    def kept_by_erase(self) -> tuple[Path, ...]:
        """Files `doorbell erase` leaves in place: they hold nothing of the owner's."""
        return (self.replay_guard,)

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

    @property
    def broker_login(self) -> Path:
        """The embedded broker's account (user name and password), made on first start, 0600."""
        return self.root / "broker-login.json"

    @property
    def broker_passwords(self) -> Path:
        """The embedded broker's password file: the same account, its password hashed (Argon2)."""
        return self.root / "broker-passwd"

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

    # -- the files of one event or clip (at rest encrypted, each is this name plus ".age") -------
    def clip(self, clip_id: str) -> Path:
        return self.clips / f"{clip_id}.mp4"

    def snapshot(self, event_id: str) -> Path:
        return self.snapshots / f"{event_id}.jpg"

    def thumbnail(self, event_id: str) -> Path:
        return self.snapshots / f"{event_id}.thumb.jpg"

    def share(self, request_id: str) -> Path:
        """The files being sent for one footage request (removed once sent or given up)."""
        return self.outgoing / request_id

    def share_record(self, request_id: str) -> Path:
        """Which clips a share holds and until when it may be sent (uplink.requests.share)."""
        return self.share(request_id) / "share.json"

    def relative(self, path: Path) -> str:
        """How the index stores a file: relative to the data dir, so the dir can move."""
        return str(path.relative_to(self.root))

    def resolve(self, stored: str) -> Path:
        return self.root / stored
