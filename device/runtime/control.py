"""The local control socket: `doorbell mode`, `doorbell press` and `doorbell status` talk here.

The server only moves JSON lines; the device's `CommandRegistry.control_request` answers them,
the same registry MQTT commands go through.

One JSON object per line each way, over a Unix socket in the data dir (mode 0600: only the
device's own user may command it).

The accepting thread sleeps in `select` until a client connects or `stop` writes to a pipe:
socketserver's `serve_forever` woke every 0.5 s to look for a stop, and a device's exit waited
up to that long for it (issue 31).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
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
        self._wake_read, self._wake_write = -1, -1  # the pipe `stop` wakes the thread with

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
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="control", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        server = self._server
        assert server is not None
        with selectors.DefaultSelector() as ready:
            ready.register(server, selectors.EVENT_READ)
            ready.register(self._wake_read, selectors.EVENT_READ)
            while True:
                for key, _ in ready.select():
                    if key.fileobj == self._wake_read:
                        return
                    server.handle_request()  # a client is waiting: accepted without blocking

    def stop(self) -> None:
        if self._server is not None:
            os.write(self._wake_write, b"x")
            if self._thread is not None:
                self._thread.join()
            self._server.server_close()
            os.close(self._wake_read)
            os.close(self._wake_write)
            self._server = None
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
