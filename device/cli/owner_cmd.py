"""`doorbell owner new-key|send`: the owner's side of signed MQTT commands (docs/security.md).

`new-key` makes an Ed25519 key pair: the private key stays with the owner (a PEM file, 0600), the
public key goes into the device's `uplink.commands.owner_keys`. `send` signs one command for one
device (`uplink.command_auth.signed_command`), publishes it on `<base>/cmd/<name>` and prints the
device's answer.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import click
import paho.mqtt.client as mqtt

from doorbell.config import LoadedConfig
from doorbell.device.cli.options import config_options, fail
from doorbell.uplink.broker_login import client_settings
from doorbell.uplink.command_auth import signed_command
from doorbell.uplink.command_models import COMMANDS, FOOTAGE_COMMANDS
from doorbell.uplink.mqtt_link import configure_client
from doorbell.uplink.requests.signing import public_key_b64
from doorbell.uplink.topics import Topics

# What the device obeys over MQTT when the owner signs it; footage requests and decisions are
# signed in their own scheme (`doorbell requests`), press and status are local-socket only.
OWNER_COMMANDS = sorted(set(COMMANDS) - set(FOOTAGE_COMMANDS))


@click.group("owner")
def owner_group() -> None:
    """Keys and signed commands of the device's owner."""


@owner_group.command("new-key")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def new_key(path: Path) -> None:
    """Write a new private key to PATH (mode 0600) and print its public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{path} exists; a key is never overwritten")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    click.echo(public_key_b64(key))
    click.echo(f"private key in {path}; put the line above in uplink.commands.owner_keys", err=True)


def parse_fields(fields: tuple[str, ...]) -> dict[str, Any]:
    """`threshold=30 mode=home` -> {"threshold": 30, "mode": "home"}: JSON values, else text."""
    args: dict[str, Any] = {}
    for field in fields:
        key, sep, value = field.partition("=")
        if not sep or not key:
            fail(f"{field!r}: expected FIELD=VALUE")
        try:
            args[key] = json.loads(value)
        except json.JSONDecodeError:
            args[key] = value
    return args


def _load_key(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    except (ValueError, TypeError):
        fail(f"{path} is not an unencrypted PEM private key")
    if not isinstance(key, Ed25519PrivateKey):
        fail(f"{path} is not an Ed25519 key")
    return key


@owner_group.command("send")
@config_options
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path))
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True)
@click.argument("name", type=click.Choice(OWNER_COMMANDS))
@click.argument("fields", nargs=-1)
def send(
    loaded: LoadedConfig, key_path: Path, timeout: float, name: str, fields: tuple[str, ...]
) -> None:
    """Sign command NAME with FIELD=VALUE arguments for --device-id and wait for its answer."""
    config = loaded.config
    key = _load_key(key_path)
    args = {"request_id": secrets.token_hex(8), **parse_fields(fields)}
    body = signed_command(name, args, config.device.id, key, time.time())
    topics = Topics(config.base_topic)
    answer: dict[str, Any] = {}
    got = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    mq = client_settings(config)
    configure_client(client, mq)

    def on_connect(c: mqtt.Client, u: Any, f: Any, reason: Any, p: Any) -> None:
        if reason.is_failure:
            answer["error"] = f"broker refused the connection: {reason}"
            got.set()
            return
        c.subscribe(topics.command_result(name), qos=1)

    def on_subscribe(c: mqtt.Client, u: Any, mid: int, codes: Any, p: Any) -> None:
        c.publish(topics.command(name), json.dumps(body), qos=1)

    def on_message(c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            reply = json.loads(msg.payload)
        except json.JSONDecodeError:
            return
        if isinstance(reply, dict) and reply.get("request_id") == args["request_id"]:
            answer.update(reply)
            got.set()

    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    try:
        client.connect(mq.host, mq.port)
    except OSError as exc:
        click.echo(f"doorbell: cannot reach {mq.host}:{mq.port}: {exc}", err=True)
        raise SystemExit(1) from None
    client.loop_start()
    try:
        if not got.wait(timeout):
            click.echo(f"doorbell: no answer from {config.device.id} in {timeout:g} s", err=True)
            raise SystemExit(1)
    finally:
        client.disconnect()
        client.loop_stop()
    click.echo(json.dumps(answer, sort_keys=True))
    if not answer.get("ok"):
        raise SystemExit(1)
