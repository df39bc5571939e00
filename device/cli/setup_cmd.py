"""`doorbell setup`: the guided first start on a freshly flashed card.

Asks for (or takes as flags) the device id, the broker and its credentials, the camera and the
owner's key; checks the camera (one snapshot saved) and the broker (a message sent to itself and
received back through the broker); only then writes the config file, mode 0600, validated by the
same loader `doorbell run` uses, and installs the systemd service (`doorbell service install`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import click
import paho.mqtt.client as mqtt
import yaml

from doorbell.config import ConfigError, DoorbellConfig, load_config
from doorbell.config.sources import Yaml12Loader, merge
from doorbell.device.cli.options import broker_settings, fail
from doorbell.device.cli.service import install as service_install
from doorbell.device.recording.jpeg_picture import JpegPicture
from doorbell.device.recording.masks import PrivacyMask
from doorbell.device.runtime.frame import Frame
from doorbell.device.sources import SourceError, open_source
from doorbell.uplink.mqtt_link import InsecureBrokerError, configure_client, refuse_insecure

DEFAULT_CONFIG = Path("/etc/doorbell/doorbell.yaml")
DEFAULT_DATA_DIR = Path("/var/lib/doorbell")
SNAPSHOT_NAME = "setup-snapshot.jpg"
FIRST_FRAME_SECONDS = 10.0  # a camera that gives no frame in this long is not working
ROUND_TRIP_SECONDS = 10.0


class SetupError(Exception):
    """A check that failed; the message is one line for the user."""


def read_existing(path: Path) -> dict[str, Any]:
    """What a config file already says (setup keeps it), or nothing if there is none."""
    if not path.is_file():
        return {}
    try:
        values = yaml.load(path.read_text(), Loader=Yaml12Loader)  # a SafeLoader
    except (OSError, yaml.YAMLError) as exc:
        raise SetupError(f"cannot read the existing {path}: {exc}".replace("\n", " ")) from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise SetupError(f"the existing {path} is not a mapping of sections")
    return values


def answers_to_values(
    device_id: str,
    broker: str,
    username: str | None,
    password: str | None,
    camera: str,
    owner_key: str | None,
    data_dir: Path,
    existing: dict[str, Any],
) -> dict[str, Any]:
    """The config file's content: what it had, with this setup's answers over it."""
    if broker == "embedded":
        raise SetupError("--broker: setup needs a real broker (mqtt://HOST[:PORT] or mqtts://...)")
    try:
        dotted = broker_settings(broker)
    except click.BadParameter as exc:
        raise SetupError(f"--broker: {exc.message}") from None
    mqtt_values: dict[str, Any] = {k.split(".", 1)[1]: v for k, v in dotted.items()}
    if username:
        mqtt_values["username"] = username
    if password:
        mqtt_values["password"] = password
    answers: dict[str, Any] = {
        "device": {"id": device_id, "data_dir": str(data_dir)},
        "camera": {"source": camera},
        "mqtt": mqtt_values,
    }
    if owner_key:  # the owner's command key (`doorbell owner new-key` prints one)
        commands = (existing.get("uplink") or {}).get("commands") or {}
        keys = list(commands.get("owner_keys") or [])
        keys += [owner_key] if owner_key not in keys else []
        answers["uplink"] = {"commands": {"owner_keys": keys}}
    return merge(existing, answers)


def write_private(path: Path, text: str) -> None:
    """Create or replace `path` with mode 0600 whatever the umask (it may hold a password)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)


def validated(values: dict[str, Any], staging: Path) -> DoorbellConfig:
    """Write the candidate file and load it exactly as `doorbell run --config` will."""
    write_private(staging, yaml.safe_dump(values, sort_keys=False))
    try:
        return load_config(staging, environ={}).config
    except ConfigError as exc:
        # "FILE:LINE: key: problem" -> "key: problem"; the staging file's name means nothing here.
        raise SetupError(exc.lines[0].split(": ", 1)[-1]) from None


def check_camera(config: DoorbellConfig, snapshot: Path) -> tuple[int, int]:
    """Open the configured camera, take one frame, save it as a JPEG (privacy masks burned in)."""
    source = open_source(config.camera)
    deadline = time.monotonic() + FIRST_FRAME_SECONDS
    frame: Frame | None = None
    with source:
        while frame is None and time.monotonic() < deadline:
            frame = source.read()
    if frame is None:
        raise SetupError(
            f"camera {config.camera.source!r} gave no frame in {FIRST_FRAME_SECONDS:g} s"
        )
    # Made as the device makes its snapshots: from the frame's planes, the masks burned in.
    picture = JpegPicture(frame.main, PrivacyMask(config.privacy.masks))
    try:
        jpeg = picture.jpeg(config.record.snapshot_quality)
    except ValueError:
        raise SetupError("the camera's frame could not be encoded as JPEG") from None
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    write_private(snapshot, "")
    snapshot.write_bytes(jpeg)
    return picture.size


def check_broker(config: DoorbellConfig) -> float:
    """Connect with the configured credentials, subscribe, publish one QoS 1 message to that
    topic and wait until the broker delivers it back. Returns the round trip in seconds."""
    cfg = config.mqtt
    where = f"{cfg.host}:{cfg.port}"
    try:
        refuse_insecure(cfg, config.uplink.allow_insecure)
    except InsecureBrokerError as exc:
        raise SetupError(str(exc)) from None
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"{config.device.id}-setup-{uuid.uuid4().hex[:6]}",
        protocol=mqtt.MQTTv5 if cfg.protocol == "5" else mqtt.MQTTv311,
    )
    topic = f"{config.base_topic}/setup/{uuid.uuid4().hex}"
    nonce = uuid.uuid4().hex.encode()
    connected, subscribed, received = threading.Event(), threading.Event(), threading.Event()
    refused: list[str] = []

    def on_connect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_message = lambda c, u, msg: received.set() if msg.payload == nonce else None
    try:
        configure_client(client, cfg)
        client.connect(cfg.host, cfg.port, keepalive=cfg.keepalive)
    except (OSError, ValueError) as exc:
        raise SetupError(f"broker {where}: cannot connect: {exc}") from None
    client.loop_start()
    try:
        if not connected.wait(ROUND_TRIP_SECONDS):
            raise SetupError(f"broker {where}: no answer to CONNECT in {ROUND_TRIP_SECONDS:g} s")
        if refused:
            raise SetupError(f"broker {where} refused the connection: {refused[0]}")
        started = time.monotonic()
        client.subscribe(topic, qos=1)
        if not subscribed.wait(ROUND_TRIP_SECONDS):
            raise SetupError(f"broker {where}: the subscription was not confirmed")
        client.publish(topic, nonce, qos=1)
        if not received.wait(ROUND_TRIP_SECONDS):
            raise SetupError(f"broker {where}: the test message did not come back (ACL?)")
        return time.monotonic() - started
    finally:
        client.disconnect()
        client.loop_stop()


def owned_by(path: Path, user: str) -> None:
    """The service runs as `user`: the 0600 config must be that user's to read."""
    if os.geteuid() != 0:
        return
    with contextlib.suppress(KeyError):
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def ask(value: str | None, prompt: str, yes: bool, default: str | None = None, **kw: Any) -> Any:
    """A flag wins; with --yes the default stands in for a missing flag; otherwise ask."""
    if value is not None:
        return value
    if yes:
        return default
    return click.prompt(prompt, default=default, show_default=default is not None, **kw)


@click.command("setup")
@click.option("--device-id", help="Device id (MQTT client id and topic segment).")
@click.option("--broker", help="mqtt://HOST[:PORT] | mqtts://HOST[:PORT]")
@click.option("--username", help="Broker user name.")
@click.option("--password", help="Broker password (asked without echo if --username is given).")
@click.option("--camera", help="picamera2 | synthetic[:SCENARIO] | file:PATH | opencv:INDEX_OR_URL")
@click.option("--owner-key", help="The owner's Ed25519 public key (base64) for signed commands.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG,
    show_default=True,
    help="Config file to write.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Where clips, index and outbox live.",
)
@click.option("--service/--no-service", default=True, help="Install the systemd unit.")
@click.option(
    "--unit-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/etc/systemd/system"),
    show_default=True,
)
@click.option("--user", default="doorbell", show_default=True, help="The service's system user.")
@click.option("--yes", is_flag=True, help="Ask nothing: flags, else defaults.")
@click.pass_context
def setup(
    ctx: click.Context,
    device_id: str | None,
    broker: str | None,
    username: str | None,
    password: str | None,
    camera: str | None,
    owner_key: str | None,
    config_path: Path,
    data_dir: Path,
    service: bool,
    unit_dir: Path,
    user: str,
    yes: bool,
) -> None:
    """Guided first start: camera and broker checked, config written (0600), service installed."""
    try:
        existing = read_existing(config_path)
    except SetupError as exc:
        fail(str(exc))
    old = {k: existing.get(k, {}) for k in ("device", "camera")}
    device_id = ask(
        device_id, "Device id", yes, old["device"].get("id") or DoorbellConfig().device.id
    )
    broker = ask(broker, "Broker URL", yes, "mqtt://127.0.0.1:1883")
    if username is None and not yes:
        username = click.prompt("Broker user name (empty: none)", default="", show_default=False)
    if username and password is None and not yes:
        password = click.prompt("Broker password", hide_input=True, default="", show_default=False)
    camera = ask(camera, "Camera", yes, old["camera"].get("source") or "picamera2")
    if owner_key is None and not yes:
        owner_key = click.prompt(
            "Owner key (base64 Ed25519 public key, see doorbell owner new-key; empty: none yet)",
            default="",
            show_default=False,
        )
    staging = config_path.with_name(f".{config_path.name}.setup-{os.getpid()}")
    try:
        config_path.parent.mkdir(parents=True, exist_ok=True)
        values = answers_to_values(
            str(device_id),
            str(broker),
            username or None,
            password or None,
            str(camera),
            owner_key or None,
            data_dir,
            existing,
        )
        config = validated(values, staging)
        snapshot = data_dir / SNAPSHOT_NAME
        width, height = check_camera(config, snapshot)
        click.echo(f"camera ok: {config.camera.source}, {width}x{height}, snapshot {snapshot}")
        seconds = check_broker(config)
        click.echo(
            f"broker ok: {config.mqtt.host}:{config.mqtt.port}, round trip {seconds * 1000:.0f} ms"
        )
        os.replace(staging, config_path)
    except (SetupError, SourceError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {exc.filename or config_path}: {exc.strerror or exc} (run as root?)")
    finally:
        with contextlib.suppress(OSError):  # gone already, or its folder never could be made
            staging.unlink()
    click.echo(f"wrote {config_path} (mode 0600)")
    if not config.uplink.commands.owner_keys:
        click.echo(
            "no owner key yet: signed commands are refused until one is in "
            "uplink.commands.owner_keys (doorbell owner new-key)"
        )
    if service:  # creates the service's user if missing, so the files can be given to it after
        ctx.invoke(
            service_install,
            user=user,
            unit_dir=unit_dir,
            config_path=config_path,
            data_dir=data_dir,
            watchdog=30,
            create_user=True,
        )
    owned_by(config_path, user)
    owned_by(snapshot, user)
