"""The page's server: an aiohttp application on its own thread and event loop, started and
stopped by the device. Listening on anything but loopback is refused until the owner has set a
password (`doorbell web set-password`); without one, nobody can log in at all."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from aiohttp import web

from doorbell.config.web import WebConfig, is_loopback, split_listen
from doorbell.device.web import WebRefused
from doorbell.device.web.app import make_app
from doorbell.device.web.context import PageContext, PageView

log = logging.getLogger(__name__)


class WebServer:
    def __init__(self, device: PageView, config: WebConfig) -> None:
        assert config.listen is not None
        self.host, self.port = split_listen(config.listen)
        self.context = PageContext(device, config)
        if not is_loopback(self.host) and not self.context.passwords.exists():
            raise WebRefused(
                f"web.listen {config.listen} is not loopback and no page password is set: "
                "run `doorbell web set-password` first"
            )
        self.app = make_app(self.context)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="web", daemon=True)
        self.url = ""

    def start(self, timeout: float = 10.0) -> None:
        """Serve on the `web` thread; returns once listening (or failed: logged, the device runs
        on without its page)."""
        self._thread.start()
        self._ready.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            # RuntimeError: the loop is over already (the page could not listen)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("the local page stopped")
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            log.error("the local page cannot listen on %s:%s: %s", self.host, self.port, exc)
            await runner.cleanup()
            return
        host, port = runner.addresses[0][:2]
        self.port = port
        self.url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        log.info("local page on %s", self.url)
        self._ready.set()
        await self._stopping.wait()
        await self.context.feed.close()
        await runner.cleanup()
