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
from pathlib import Path
from typing import Any, NoReturn

import click

from doorbell.config import LoadedConfig
from doorbell.device.cli.options import config_options, fail
from doorbell.uplink.broker_login import client_settings
from doorbell.uplink.command_models import COMMANDS, FOOTAGE_COMMANDS
from doorbell.uplink.owner_sender import BrokerRefused, send_signed
from doorbell.uplink.requests.signing import public_key_b64

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


def _give_up(message: str) -> NoReturn:
    """Not the user's mistake (the broker or the device): one line, exit status 1."""
    click.echo(f"doorbell: {message}", err=True)
    raise SystemExit(1)


@owner_group.command("send")
@config_options
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path))
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=10.0,
    show_default=True,
    help="seconds to wait for the answer, all copies together",
)
@click.option(
    "--tries",
    type=click.IntRange(1, 100),
    default=20,
    show_default=True,
    help="copies sent (each signed afresh, spread over --timeout) until one is answered",
)
@click.argument("name", type=click.Choice(OWNER_COMMANDS))
@click.argument("fields", nargs=-1)
def send(
    loaded: LoadedConfig,
    key_path: Path,
    timeout: float,
    tries: int,
    name: str,
    fields: tuple[str, ...],
) -> None:
    """Sign command NAME with FIELD=VALUE arguments for --device-id and wait for its answer.

    A copy lost on the broker is sent again with a new nonce and the same request_id; the
    device runs the command once and answers every copy."""
    config = loaded.config
    key = _load_key(key_path)
    args = {"request_id": secrets.token_hex(8), **parse_fields(fields)}
    mq = client_settings(config)
    try:
        outcome = send_signed(
            mq, config.base_topic, config.device.id, key, name, args, tries, timeout
        )
    except BrokerRefused as exc:
        _give_up(f"broker refused the connection: {exc}")
    except OSError as exc:
        _give_up(f"cannot reach {mq.host}:{mq.port}: {exc}")
    if outcome.answer is None:
        _give_up(f"no answer from {config.device.id} in {timeout:g} s ({outcome.copies} sent)")
    click.echo(json.dumps(outcome.answer, sort_keys=True))
    if not outcome.answer.get("ok"):
        raise SystemExit(1)
