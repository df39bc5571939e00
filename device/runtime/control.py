"""The local control socket: `doorbell mode`, `doorbell press` and `doorbell status` talk here.

The server only moves JSON lines; the device's `CommandRegistry.control_request` answers them,
the same registry MQTT commands go through.

One JSON object per line each way, over a Unix socket in the data dir (mode 0600: only the
device's own user may command it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from doorbell.uplink.command_models import CommandReply

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
MAX_REQUEST = 64 * 1024


class ControlServer:
    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self.handler = handler
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        handler = self.handler

        class Connection(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(MAX_REQUEST)
                if not line.strip():  # connected and gone: a probe (`doorbell erase` asks
                    return  # whether a device runs here), nothing to answer
                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise ValueError("a request is a JSON object")
                    reply = handler(request)
                except ValueError as exc:
                    refused = CommandReply.failure(f"bad request: {exc}")
                    reply = refused.model_dump(mode="json", exclude={"request_id"})
                # a client that gave up waiting is gone: nothing to tell, nothing to log
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(json.dumps(reply).encode() + b"\n")

        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # left by a killed process
        self._server = socketserver.ThreadingUnixStreamServer(str(self.path), Connection)
        self._server.daemon_threads = True
        os.chmod(self.path, 0o600)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="control", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


class ControlError(Exception):
    """The device is not running here, or did not answer."""


def send(path: Path, request: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """Send one request to a running device and return its reply."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (FileNotFoundError, ConnectionRefusedError):
        raise ControlError(f"no device is running with data dir {path.parent}") from None
    except OSError as exc:
        raise ControlError(f"device did not answer on {path}: {exc}") from None
    reply: dict[str, Any] = json.loads(data)
    return reply
