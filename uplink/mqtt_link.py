"""The connection to the broker: paho-mqtt 2.x on its own network thread, with availability."""

from __future__ import annotations

import collections
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from doorbell.config.uplink import MqttConfig
from doorbell.uplink.backlog_watch import LIMIT_BYTES, BacklogWatch, waiting_bytes
from doorbell.uplink.topics import Topics

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes, bool], None]  # topic, payload, retained

# `mqtt.protocol` -> paho's constant; "auto" starts with 5 (see MqttLink)
PAHO_VERSIONS = {"5": mqtt.MQTTv5, "3.1.1": mqtt.MQTTv311}
# CONNACK "Unsupported protocol version": 0x84 in MQTT 5, and paho's reading of a 3.1.1
# broker's return code 1 (unacceptable protocol level) when it sent a version 5 CONNECT.
UNSUPPORTED_PROTOCOL = 0x84
HELD_MAX = 256  # publishes kept while not connected (command results); older ones go


class InsecureBrokerError(Exception):
    """Plain MQTT to a host that is not this machine, without `uplink.allow_insecure`."""


def tls_context(cfg: MqttConfig) -> ssl.SSLContext:
    """CA, client certificate (mutual TLS) and ALPN from the config."""
    context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
    if cfg.cert_file:
        context.load_cert_chain(str(cfg.cert_file), str(cfg.key_file) if cfg.key_file else None)
    if cfg.alpn:
        context.set_alpn_protocols(cfg.alpn)
    return context


def configure_client(client: mqtt.Client, cfg: MqttConfig) -> None:
    """TLS and credentials for any client of ours (the device, `watch`, `erase`). The password
    comes from a file or the config/environment and is never logged."""
    if cfg.tls:
        client.tls_set_context(tls_context(cfg))
    password = None
    if cfg.password_file:
        password = cfg.password_file.read_text().strip()
    elif cfg.password:
        password = cfg.password.get_secret_value()
    if cfg.username or password:
        client.username_pw_set(cfg.username, password)


def refuse_insecure(cfg: MqttConfig, allow_insecure: bool) -> None:
    """Plain MQTT only to this machine, unless the owner says otherwise."""
    if not cfg.tls and not cfg.is_loopback() and not allow_insecure:
        raise InsecureBrokerError(
            f"refusing plain mqtt:// to {cfg.host}: alerts and snapshots would cross the "
            "network unencrypted; use mqtts:// or set uplink.allow_insecure: true"
        )


class MqttLink:
    """Connects in the background (the device runs while the broker is away), reconnects with
    backoff from 1 s to 2 min, keeps `status` retained `online`, with `offline` as the last will.

    `mqtt.protocol: auto` connects with MQTT 5 and, if the broker refuses that version (Azure IoT
    Hub, aedes) or never answers it (amqtt), connects again with 3.1.1 and says so once."""

    def __init__(
        self,
        cfg: MqttConfig,
        client_id: str,
        topics: Topics,
        *,
        allow_insecure: bool = False,
        protocol: str | None = None,
        connack_seconds: float = 10.0,
        max_incoming_bytes: int | None = None,
        max_backlog_bytes: int = LIMIT_BYTES,
    ) -> None:
        refuse_insecure(cfg, allow_insecure)
        self.cfg = cfg
        self.topics = topics
        self.client_id = client_id
        requested = protocol or cfg.protocol
        self.pinned = requested != "auto"
        self.protocol = requested if self.pinned else "5"  # the version in use now
        self.connected = threading.Event()
        self.ever_connected = False
        self.on_message: MessageHandler | None = None
        self.on_connected: Callable[[], None] | None = None
        self.on_published: Callable[[int], None] | None = None
        self.subscriptions: list[tuple[str, int]] = [(topics.commands, 1)]
        self._was_unreachable = False
        self._stopping = False
        self._swap = threading.Lock()  # stop() and the 3.1.1 fallback both replace/stop the client
        # Some 3.1.1-only brokers (amqtt) misread a version 5 CONNECT and never answer it.
        self.connack_seconds = connack_seconds
        self.max_incoming_bytes = max_incoming_bytes
        self._connack_timer: threading.Timer | None = None
        self._said_no_answer = False
        # Publishes made while not connected, sent after the CONNACK (see `publish`).
        self._held: collections.deque[tuple[str, bytes | str, int, bool, Any]] = collections.deque(
            maxlen=HELD_MAX
        )
        self._held_lock = threading.Lock()
        self.client = self._new_client()
        # A flood read too slowly: drop the connection and what waits on it (uplink.backlog_watch).
        self._quiet_reconnect = False
        self.backlog = BacklogWatch(
            lambda: waiting_bytes(self.client.socket()), self._drop_backlog, max_backlog_bytes
        )

    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=PAHO_VERSIONS[self.protocol],
        )
        client.reconnect_delay_set(1, 120)
        client.max_queued_messages_set(0)
        client.will_set(self.topics.status, "offline", qos=1, retain=True)
        configure_client(client, self.cfg)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_socket_open = self._on_socket_open
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        return client

    def _tls_context(self) -> ssl.SSLContext:
        return tls_context(self.cfg)

    def tls_problem(self, timeout: float = 3.0) -> str | None:
        """Why a TLS handshake with the broker fails, in words (paho's retry loop swallows the
        exception, and "unreachable" would send the owner looking at the network)."""
        if not self.cfg.tls:
            return None
        try:
            address = (self.cfg.host, self.cfg.port)
            with (
                socket.create_connection(address, timeout) as raw,
                self._tls_context().wrap_socket(raw, server_hostname=self.cfg.host),
            ):
                return None
        except ssl.SSLCertVerificationError as exc:
            ca = self.cfg.ca_file or "the system's CA store"
            return (
                f"TLS: the certificate of {self.url} is not trusted ({exc.verify_message}); "
                f"check mqtt.ca_file ({ca})"
            )
        except ssl.SSLError as exc:
            return f"TLS handshake with {self.url} failed: {exc.reason or exc}"
        except OSError:
            return None  # plainly unreachable: said already

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.cfg.tls else 'mqtt'}://{self.cfg.host}:{self.cfg.port}"

    def start(self) -> None:
        properties = None
        if self.protocol == "5" and self.max_incoming_bytes:
            # MQTT 5: the broker must not send us a larger packet at all. Anyone may publish on
            # our command topics; without this, two 150 MB payloads took the device to 800 MB.
            properties = Properties(PacketTypes.CONNECT)
            properties.MaximumPacketSize = self.max_incoming_bytes
        self.client.connect_async(
            self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive, properties=properties
        )
        self.client.loop_start()
        self.backlog.start()

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        qos: int = 1,
        retain: bool = False,
        content_type: str | None = None,
        expiry: int | None = None,
        hold: bool = True,
    ) -> mqtt.MQTTMessageInfo:
        """Publish now if connected. If not, nothing goes to paho: paho's reconnect opens its
        socket, then sends CONNECT, and a publish from another thread in between went out
        first; amqtt (the embedded broker) wants CONNECT first, waited, and never answered, so
        the device stayed offline for a keepalive, about a minute, at every such start. Held
        (`hold`, at most HELD_MAX) and sent after the CONNACK, or dropped (rc NO_CONN): retained
        state is published again on every connect anyway, and the outbox sends its own rows
        only while connected."""
        properties = None
        if self.protocol == "5" and (content_type or expiry):
            properties = Properties(PacketTypes.PUBLISH)
            if content_type:
                properties.ContentType = content_type
            if expiry:
                properties.MessageExpiryInterval = expiry
        with self._held_lock:  # against the flush in _on_connect: held ones go first
            if not self.connected.is_set():
                if hold:
                    self._held.append((topic, payload, qos, retain, properties))
                info = mqtt.MQTTMessageInfo(0)
                info.rc = mqtt.MQTT_ERR_NO_CONN
                return info
            return self.client.publish(
                topic, payload, qos=qos, retain=retain, properties=properties
            )

    def stop(self, timeout: float = 5.0) -> None:
        """Say `offline` (the will is not sent on a clean disconnect) and disconnect."""
        if self.connected.is_set():
            info = self.publish(self.topics.status, "offline", retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.warning("could not publish offline: %s", exc)
        self.backlog.stop()
        with self._swap:
            self._stopping = True
            self._cancel_connack_timer()
            self.client.disconnect()
            self.client.loop_stop()

    # paho callbacks run on paho's network thread
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self._cancel_connack_timer()
        if reason.is_failure:
            if reason.value == UNSUPPORTED_PROTOCOL and not self.pinned and self.protocol == "5":
                self._fall_back("speaks only MQTT 3.1.1")
                return
            log.warning("broker %s refused the connection: %s", self.url, reason)
            return
        if self._was_unreachable:
            log.info("broker %s reachable again", self.url)
        self._was_unreachable = False
        self._said_no_answer = False
        if not self._quiet_reconnect:  # the backlog watch logs its own, once a minute
            log.info("connected to broker %s", self.url)
        self._quiet_reconnect = False
        client.publish(self.topics.status, "online", qos=1, retain=True)
        for topic, qos in self.subscriptions:
            if self.protocol == "5":
                # Keep the publisher's retain flag on live messages too, so a retained command
                # can be told apart (and ignored) whenever it arrives, not only at subscribe.
                options = SubscribeOptions(qos=qos, retainAsPublished=True)
                client.subscribe(topic, options=options)
            else:
                client.subscribe(topic, qos)
        with self._held_lock:
            while self._held:
                topic, payload, qos, retain, properties = self._held.popleft()
                client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
            self.connected.set()
        self.ever_connected = True
        if self.on_connected:
            self.on_connected()

    def _fall_back(self, why: str) -> None:
        """The broker does not take MQTT 5: connect again with 3.1.1, on a fresh client (paho
        fixes a client's version when it is made). Not on paho's thread: it stops that thread."""
        log.warning(
            "broker %s %s; connecting with MQTT 3.1.1 (set mqtt.protocol to pin a version)",
            self.url,
            why,
        )
        self.protocol = "3.1.1"
        threading.Thread(target=self._reconnect_311, name="mqtt-fallback", daemon=True).start()

    def _reconnect_311(self) -> None:
        with self._swap:
            if self._stopping:
                return
            self.client.disconnect()
            self.client.loop_stop()
            self.client = self._new_client()
            self.start()

    def _drop_backlog(self) -> None:
        """The backlog watch's reset, on its thread: a new connection, the old one's queue gone
        with it."""
        with self._swap:
            if self._stopping:
                return
            self._quiet_reconnect = True
            self.client.disconnect()
            self.client.loop_stop()
            self.client = self._new_client()
            self.start()

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        """The CONNECT is about to go out: expect its CONNACK within `connack_seconds`."""
        self._cancel_connack_timer()
        timer = threading.Timer(self.connack_seconds, self._no_connack)
        timer.daemon = True
        self._connack_timer = timer
        timer.start()

    def _cancel_connack_timer(self) -> None:
        timer, self._connack_timer = self._connack_timer, None
        if timer is not None:
            timer.cancel()

    def _no_connack(self) -> None:
        if self.connected.is_set() or self._stopping:
            return
        wait = f"did not answer an MQTT {self.protocol} connect in {self.connack_seconds:g} s"
        if not self.pinned and self.protocol == "5":
            self._fall_back(wait)
        elif not self._said_no_answer:
            self._said_no_answer = True
            log.warning("broker %s %s; still waiting", self.url, wait)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if self.connected.is_set() and not self._stopping and not self._quiet_reconnect:
            log.warning("disconnected from broker %s: %s", self.url, reason)
        self.connected.clear()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        if not self._was_unreachable and not self._stopping:
            log.warning("broker %s unreachable; will keep retrying (alerts are kept)", self.url)
            problem = self.tls_problem()
            if problem:
                log.error(problem)
        self._was_unreachable = True

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self.on_message:
            self.on_message(message.topic, bytes(message.payload), bool(message.retain))

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any
    ) -> None:
        if self.on_published:
            self.on_published(mid)
