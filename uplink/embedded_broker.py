"""The zero-setup broker behind `--broker embedded`: amqtt in the device's process, on loopback,
with one account (uplink.broker_login) and no anonymous access. amqtt has no Maximum Packet Size,
so it listens on a private loopback port behind a `PacketLimit` front on the public one: a packet
over `uplink.max_incoming_bytes` closes its connection before its body is read."""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doorbell.config import DoorbellConfig
from doorbell.uplink.broker_login import BrokerLogin, uses_embedded, with_login

if TYPE_CHECKING:
    import asyncio

    from doorbell.uplink.packet_limit import PacketLimit

log = logging.getLogger(__name__)


def broker_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BrokerError(RuntimeError):
    """The embedded broker cannot start; the message says why, in one line."""


class EmbeddedBroker:
    """amqtt (MQTT 3.1.1 only) on its own asyncio loop in a daemon thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        password_file: Path | None = None,
        max_packet_bytes: int = 256 * 1024,
    ) -> None:
        self.host, self.port = host, port
        self.password_file = password_file  # None: anonymous clients allowed (tests only)
        self.max_packet_bytes = max_packet_bytes
        self.front: PacketLimit | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> None:
        if broker_answers(self.host, self.port):
            # Something else listens there: talking to it would hand our alerts (and our
            # password) to whoever started it.
            raise BrokerError(
                f"cannot start the embedded broker: {self.host}:{self.port} is taken by another "
                f"program; point --broker at that broker (mqtt://{self.host}:{self.port}) or set "
                "mqtt.port to a free port"
            )
        # asyncio and amqtt only here: a device on an outside broker does not carry them (~5 MB).
        import asyncio

        from doorbell.uplink.packet_limit import PacketLimit

        try:
            from amqtt.broker import Broker
        except ImportError:
            raise BrokerError(
                "the embedded broker needs amqtt (pip install 'doorbell[demo]'), "
                "or point --broker at one: mqtt://HOST:PORT"
            ) from None
        # amqtt logs every connection, and our own "is anyone there?" probe as an error.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        ready = threading.Event()
        errors: list[BaseException] = []
        auth: dict[str, Any] = (
            {"amqtt.plugins.authentication.FileAuthPlugin": {"password_file": self.password_file}}
            if self.password_file
            else {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
        )
        inner = _free_loopback_port()  # amqtt itself, reached only through the front
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{inner}"}},
            "plugins": auth,
        }
        front = PacketLimit(self.host, self.port, "127.0.0.1", inner, self.max_packet_bytes)
        self.front = front

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._broker = Broker(config, loop=loop)
                loop.run_until_complete(self._broker.start())
                loop.run_until_complete(front.start())
            except BaseException as exc:  # reported to the caller below
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=serve, name="embedded-broker", daemon=True)
        self._thread.start()
        ready.wait(timeout)
        if errors:
            raise BrokerError(f"embedded broker failed to start: {errors[0]}")

    def stop(self) -> None:
        loop, broker = self._loop, self._broker
        if loop is None or broker is None:
            return
        import asyncio  # loaded by start already

        try:
            if self.front is not None:
                asyncio.run_coroutine_threadsafe(self.front.close(), loop).result(timeout=5)
            asyncio.run_coroutine_threadsafe(broker.shutdown(), loop).result(timeout=5)
        except Exception as exc:  # shutting down anyway
            log.debug("embedded broker shutdown: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)


@dataclass(frozen=True)
class EmbeddedStart:
    broker: EmbeddedBroker | None  # None: the config names another broker
    config: DoorbellConfig  # with the embedded broker's account, when it runs
    login: BrokerLogin | None  # made on this start: to be shown to the owner once


def start_embedded(config: DoorbellConfig) -> EmbeddedStart:
    """Start the embedded broker when the config asks for it (`mqtt.embedded` on a loopback
    host), with its account; raises BrokerError when it cannot (its port taken, amqtt missing)."""
    if not uses_embedded(config):
        return EmbeddedStart(None, config, None)
    files = config.device.data
    login = BrokerLogin.load_or_create(files)
    broker = EmbeddedBroker(
        config.mqtt.host,
        config.mqtt.port,
        files.broker_passwords,
        # what others may send; the device's own snapshots are bounded by max_payload_bytes
        max_packet_bytes=max(
            config.uplink.max_incoming_bytes, config.uplink.max_payload_bytes + 64 * 1024
        ),
    )
    broker.start()
    log.info("embedded: started amqtt on %s:%d", config.mqtt.host, config.mqtt.port)
    effective = config.model_copy(update={"mqtt": with_login(config.mqtt, login)})
    return EmbeddedStart(broker, effective, login if login.created else None)
