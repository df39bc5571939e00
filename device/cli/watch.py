"""`doorbell watch`: the resident's side. One readable line per alert, ring and status change."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import click
import paho.mqtt.client as mqtt

from doorbell.config import LoadedConfig
from doorbell.device.cli.options import config_options
from doorbell.device.cli.paths import check_output_dir
from doorbell.uplink.broker_login import client_settings
from doorbell.uplink.mqtt_link import configure_client
from doorbell.uplink.topics import Topics

CONNECT_ATTEMPTS = 3
RETRY_SECONDS = 1.0  # then 2 s: a broker that is starting gets a moment


def printable(text: str) -> str:
    """Anyone on the broker writes what we print: escape sequences and control characters are
    shown as escapes, never sent to the owner's terminal (and a line stays one line)."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def describe(kind: str, device: str, payload: bytes) -> str | None:
    """A one-line, human description of a message, or None for messages not worth a line."""
    line = _describe(kind, device, payload)
    return None if line is None else printable(line)


def _describe(kind: str, device: str, payload: bytes) -> str | None:
    text = payload.decode("utf-8", "replace")
    if kind in ("status", "motion"):
        return f"{device}: {kind} {text}"
    if kind not in ("event", "ring"):
        return None
    try:
        event = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return f"{device}: {kind} (not JSON: {text[:60]!r})"
    if not isinstance(event, dict):
        return f"{device}: {kind} (not an event: {text[:60]!r})"
    what = event.get("type", kind)
    state = event.get("state", "")
    # What moved (docs/classify.md); a device from before labels sends none: nothing is shown.
    label = f" {event['label']}" if isinstance(event.get("label"), str) and what == "motion" else ""
    clip = event.get("clip")
    clip_text = (
        f"clip {clip.get('file')} ({clip.get('seconds')} s)"
        if isinstance(clip, dict)
        else "no clip"
    )
    if what == "package":  # a possible package (docs/classify.md): its clip is its motion's
        if clip_text == "no clip" and isinstance(event.get("motion_event"), str):
            clip_text = f"in the clip of motion {event['motion_event']}"  # still being written
        if state == "start":
            return (
                f"{event.get('start')} {device}: PACKAGE id {event.get('id')}, delivery {clip_text}"
            )
        return f"{event.get('end')} {device}: package gone id {event.get('id')}, taken {clip_text}"
    if state == "start":
        zones = ",".join(event.get("zones") or []) or "-"
        head = f"{event.get('start')} {device}: {what.upper()}{label}"
        return f"{head} score {event.get('score')} zones {zones} id {event.get('id')}"
    return f"{event.get('end')} {device}: {what}{label} ended, {clip_text} id {event.get('id')}"


@click.command("watch")
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print raw JSON payloads.")
@click.option(
    "--save-snapshots", type=click.Path(file_okay=False, path_type=Path), help="Save JPEGs here."
)
@click.option("--count", type=click.IntRange(min=1), help="Exit after this many alerts.")
@click.option("--timeout", type=click.FloatRange(min=0.1), help="Exit after SECONDS.")
def watch(
    loaded: LoadedConfig,
    as_json: bool,
    save_snapshots: Path | None,
    count: int | None,
    timeout: float | None,
) -> None:
    """Print alerts from one device (--device-id) or all devices on a broker."""
    config = loaded.config
    explicit_id = loaded.origin_of(("device", "id")).kind != "default"
    base = config.uplink.base_topic.replace("{device_id}", config.device.id if explicit_id else "+")
    topics = Topics(base)
    # A ring's `start` comes on `event` as well as on `ring`: `event` alone gives one line each.
    wanted = [topics.event, topics.status, topics.motion]
    if save_snapshots:
        check_output_dir(save_snapshots, "--save-snapshots")
        wanted.append(topics.snapshot)
    alerts = 0
    done = threading.Event()
    refused: list[str] = []
    mq = client_settings(config)  # with the embedded broker's account, read from the data dir
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    configure_client(client, mq)

    def on_connect(c: mqtt.Client, u: Any, f: Any, reason: Any, p: Any) -> None:
        if reason.is_failure:  # bad credentials, not authorised: retrying will not help
            refused.append(str(reason))
            done.set()
            return
        c.subscribe([(t, 1) for t in wanted])
        click.echo(f"watching {base} on {mq.host}:{mq.port}", err=True)

    def on_message(c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal alerts
        parts = msg.topic.split("/")
        kind, device = parts[-1], parts[-2] if len(parts) >= 2 else "?"
        if kind == "snapshot" and save_snapshots:
            path = save_snapshots / f"{device}-{msg.timestamp:.0f}.jpg"
            try:
                path.write_bytes(msg.payload)
            except OSError as exc:  # a full disk: said, and alerts are still printed
                click.echo(f"{device}: snapshot not saved to {path}: {exc.strerror}", err=True)
                return
            click.echo(f"{device}: snapshot saved to {path}")
            return
        if as_json:
            click.echo(
                json.dumps({"topic": msg.topic, "payload": msg.payload.decode("utf-8", "replace")})
            )
        else:
            line = describe(kind, device, bytes(msg.payload))
            if line:
                click.echo(line)
        if kind == "event" and b'"start"' in msg.payload:
            alerts += 1
            if count is not None and alerts >= count:
                done.set()

    client.on_connect = on_connect
    client.on_message = on_message
    _connect(client, mq.host, mq.port)
    client.loop_start()
    try:
        done.wait(timeout)
    except KeyboardInterrupt:
        pass
    finally:
        client.disconnect()
        client.loop_stop()
    if refused:
        click.echo(
            f"watch: broker {mq.host}:{mq.port} refused the connection: {refused[0]}", err=True
        )
        raise SystemExit(1)


def _connect(client: mqtt.Client, host: str, port: int) -> None:
    """The first connection, tried CONNECT_ATTEMPTS times; then a line saying why and exit 1.
    (Once connected, paho reconnects by itself after an outage.)"""
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            client.connect(host, port)
            return
        except (OSError, ValueError) as exc:  # refused, unreachable, no such host, TLS
            reason = str(exc) or type(exc).__name__
            if attempt == CONNECT_ATTEMPTS:
                click.echo(
                    f"watch: cannot connect to {host}:{port} after {attempt} attempts: {reason}",
                    err=True,
                )
                raise SystemExit(1) from None
            time.sleep(RETRY_SECONDS * attempt)
