"""A real device with its local page, running in this process on a synthetic camera, and an
HTTP client for the page (real sockets, real threads)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from doorbell.config import load_config
from doorbell.config.data_dir import DataDir
from doorbell.device.runtime.device import Device
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.runtime.startup import open_device
from doorbell.device.web.auth import PasswordFile
from doorbell.uplink.command_models import LOCAL_COMMANDS, CommandReply, validate_command
from tests.support.scenes import QUIET_PORCH

PASSWORD = "correct horse battery"


def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


@dataclass
class PageDevice:
    device: Device
    url: str
    config_file: Path
    data: DataDir

    def command(self, name: str, **fields: Any) -> CommandReply | None:
        """A command through the device's one registry (as MQTT or the socket would send it)."""
        body = validate_command(name, {"request_id": "test", **fields}, LOCAL_COMMANDS).body
        return self.device.commands.dispatch(name, body)

    def ring(self) -> str:
        reply = self.command("press")
        assert reply is not None and reply.ok
        return str(reply.model_extra["event_id"])  # type: ignore[index]

    def clip_of(self, event_id: str, timeout: float = 60.0) -> str:
        """The event's clip once complete and wholly in the past: a clip ends one frame after
        its last frame's wall time, which can be ahead of the clock for a few milliseconds, and
        a footage request's window must end in the past (the tests end theirs 10 ms ago). The
        camera runs in real time; on QUIET_PORCH a ring's clip ends its post-roll (1 s) after
        the press, about a second; a starved machine drops frames and takes longer. (A wait
        of a minute timed out in CI, and one of 20 s once saw a ring's clip of 22 s: a lost
        end, the press's end landing while its clip was being opened, mended in ClipCutter;
        tests/test_recording.py puts an end there.)"""
        index = self.device.recorder.index

        def done() -> str | None:
            events = index.events_between(0, 1e18)
            clip_id = next((e.clip_id for e in events if e.id == event_id), None)
            clip = index.get_clip(clip_id) if clip_id else None
            if clip is None or clip.state != "complete" or clip.end_wall > time.time() - 0.05:
                return None
            return clip_id

        return str(wait_until(done, timeout, f"the clip of {event_id}"))


def write_config(path: Path, data: Path, **sections: dict[str, Any]) -> None:
    raw: dict[str, Any] = {
        "device": {"id": "webtest", "data_dir": str(data)},
        "mqtt": {"port": 1, "embedded": False},  # no broker: alerts wait in the outbox
        "web": {"listen": "127.0.0.1:0"},
        "camera": {"source": f"synthetic:{QUIET_PORCH}"},
        "record": {"pre_seconds": 1.0, "post_seconds": 1.0},
        "runtime": {"watchdog": False, "shutdown_seconds": 0.5},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    path.write_text(yaml.safe_dump(raw))


@contextmanager
def page_device(
    tmp_path: Path, password: str | None = PASSWORD, **sections: dict[str, Any]
) -> Iterator[PageDevice]:
    data = tmp_path / "data"
    config_file = tmp_path / "doorbell.yaml"
    write_config(config_file, data, **sections)
    if password is not None:
        PasswordFile(DataDir(data).web_password).set(password)
    loaded = load_config(config_file, environ={})
    device = open_device(loaded.config, RunOptions(echo=lambda line: None, loaded=loaded))
    stop = threading.Event()
    thread = threading.Thread(target=device.run, args=(stop,), name="device")
    thread.start()
    try:
        assert device.web is not None
        wait_until(lambda: device.web and device.web.url, what="the page to listen")
        wait_until(lambda: device.reactions.last_frame is not None, what="a first frame")
        yield PageDevice(device, device.web.url, config_file, DataDir(data))
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive()


class PageClient:
    """The page over HTTP, as a browser would use it (cookies; CSRF from the page)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.url + path, allow_redirects=False, timeout=10, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.http.post(self.url + path, allow_redirects=False, timeout=10, **kw)

    def login(self, password: str = PASSWORD) -> requests.Response:
        return self.post("/login", data={"password": password, "next": "/live"})

    def csrf(self) -> str:
        page = self.get("/live", headers={"Accept": "text/html"}).text
        match = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert match, page[:300]
        return match.group(1)

    def change(self, path: str, data: dict[str, Any], csrf: str | None = None) -> requests.Response:
        """A form post with the page's CSRF token."""
        return self.post(path, data={**data, "csrf": csrf or self.csrf()})

    def change_json(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.post(
            path,
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "X-CSRF-Token": self.csrf()},
        )
