"""The owner's side of a signed command: sent again, signed afresh, until the device answers.

Under a flood on the broker a copy can be dropped on its way to the device (a slow reader's
queue at the broker is full), so one copy is not enough. Each copy keeps the command's
`request_id` and gets a new nonce and time (`uplink.command_auth.signed_command`: the device
refuses a nonce twice); the device runs the first copy that reaches it and answers the others from
memory (`uplink.answered_commands`), so a command sent five times runs once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt

from doorbell.config.uplink import MqttConfig
from doorbell.uplink.command_auth import signed_command
from doorbell.uplink.mqtt_link import configure_client
from doorbell.uplink.topics import Topics

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class BrokerRefused(Exception):
    """The broker refused the owner's connection; the message says why."""


@dataclass
class Outcome:
    answer: dict[str, Any] | None  # the device's answer; None: none within the timeout
    copies: int  # how many signed copies were sent
    seconds: float  # from the first copy to the answer (or to the timeout)


def send_signed(
    mq: MqttConfig,
    base_topic: str,
    device_id: str,
    key: Ed25519PrivateKey,
    name: str,
    args: dict[str, Any],
    tries: int,
    timeout: float,
    clock: Callable[[], float] = time.time,
) -> Outcome:
    """Send `name` with `args` (a `request_id` among them) signed for `device_id`: a copy now
    and one every `timeout / tries` seconds, at most `tries`, until the answer arrives. Raises
    OSError when the broker cannot be reached, BrokerRefused when it refuses us."""
    topics = Topics(base_topic)
    request_id = args["request_id"]
    answer: dict[str, Any] = {}
    subscribed, got = threading.Event(), threading.Event()
    refused: list[str] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    configure_client(client, mq)

    def on_connect(c: mqtt.Client, u: Any, f: Any, reason: Any, p: Any) -> None:
        if reason.is_failure:
            refused.append(str(reason))
            subscribed.set()
            return
        c.subscribe(topics.command_result(name), qos=1)

    def on_subscribe(c: mqtt.Client, u: Any, mid: int, codes: Any, p: Any) -> None:
        subscribed.set()

    def on_message(c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            reply = json.loads(msg.payload)
        except (UnicodeDecodeError, ValueError):
            return
        if isinstance(reply, dict) and reply.get("request_id") == request_id:
            answer.update(reply)
            got.set()

    client.on_connect, client.on_subscribe = on_connect, on_subscribe
    client.on_message = on_message
    client.connect(mq.host, mq.port)
    client.loop_start()
    began = time.monotonic()
    copies = 0
    try:
        if not subscribed.wait(timeout):
            return Outcome(None, 0, time.monotonic() - began)
        if refused:
            raise BrokerRefused(refused[0])
        began = time.monotonic()
        every = timeout / max(tries, 1)
        while copies < tries:
            body = signed_command(name, args, device_id, key, clock())
            client.publish(topics.command(name), json.dumps(body), qos=1)
            copies += 1
            wait = began + copies * every - time.monotonic()
            if got.wait(max(wait, 0.0)):
                break
        else:
            got.wait(max(began + timeout - time.monotonic(), 0.0))
    finally:
        client.disconnect()
        client.loop_stop()
    return Outcome(dict(answer) if got.is_set() else None, copies, time.monotonic() - began)
