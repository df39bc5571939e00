"""`doorbell erase`: remove every piece of user data from the device and the broker.

Local: every file under data_dir is deleted (clips, snapshots, thumbnails, uploads in progress,
the audit log, saved mode...), except SQLite databases, which are emptied in place so the device
starts again with its schema (index, outbox, requests). Broker: an empty retained message on every
retained topic of the device, and on its Home Assistant discovery topic, deletes them.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from doorbell.config import DoorbellConfig
from doorbell.config.data_dir import DataDir
from doorbell.uplink.mqtt_link import InsecureBrokerError, configure_client, refuse_insecure
from doorbell.uplink.topics import Topics

log = logging.getLogger(__name__)

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


class DeviceRunningError(Exception):
    """The device is running on this data dir; erasing under it would race its writers."""


@dataclass
class ErasureReport:
    files: dict[str, int] = field(default_factory=dict)  # top-level folder or file -> files
    rows: dict[str, int] = field(default_factory=dict)  # "db.sqlite:table" -> rows deleted
    topics_cleared: list[str] = field(default_factory=list)
    mqtt_error: str | None = None

    def lines(self) -> list[str]:
        out = [f"deleted {n} file(s) in {name}" for name, n in sorted(self.files.items())]
        out += [f"deleted {n} row(s) from {name}" for name, n in sorted(self.rows.items())]
        out += [f"cleared retained topic {t}" for t in self.topics_cleared]
        if self.mqtt_error:
            out.append(f"could not clear the broker: {self.mqtt_error}")
        return out


def device_running(data_dir: Path) -> bool:
    path = DataDir(data_dir).control_socket
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def _is_sqlite(path: Path) -> bool:
    return path.suffix in SQLITE_SUFFIXES


def _sqlite_companion(path: Path) -> Path | None:
    """The database a WAL or shared-memory file belongs to (None for other files)."""
    for suffix in SQLITE_SUFFIXES:
        for extra in ("-wal", "-shm"):
            if path.name.endswith(suffix + extra):
                return path.with_name(path.name.removesuffix(extra))
    return None


def _remove_tree(folder: Path) -> int:
    """Delete a folder and what is in it, never following a link (a link is removed, whatever
    it points at stays); returns how many files (and links) went."""
    count = 0
    for top, dirs, files in os.walk(folder, topdown=False, followlinks=False):
        for name in files:
            (Path(top) / name).unlink()
            count += 1
        for name in dirs:  # os.walk lists links to folders here, without entering them
            path = Path(top) / name
            if path.is_symlink():
                path.unlink()
                count += 1
            else:
                path.rmdir()
    folder.rmdir()
    return count


def empty_database(path: Path) -> dict[str, int]:
    """Delete every row of every table, keep the schema, leave no old pages behind."""
    db = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        db.execute("PRAGMA secure_delete=ON")  # overwrite deleted content, not just unlink it
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        counts = {}
        db.execute("BEGIN IMMEDIATE")
        for table in tables:
            (n,) = db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
            db.execute(f'DELETE FROM "{table}"')
            counts[table] = int(n)
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            db.execute("DELETE FROM sqlite_sequence")  # AUTOINCREMENT's counter: how many ever
        db.execute("COMMIT")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return counts


def erase_files(data_dir: Path) -> ErasureReport:
    report = ErasureReport()
    if not data_dir.is_dir():
        return report
    kept = {p.name for p in DataDir(data_dir).kept_by_erase}
    for entry in sorted(data_dir.iterdir()):
        database = _sqlite_companion(entry)
        if entry.name.removesuffix("-wal").removesuffix("-shm") in kept:
            continue
        if entry.is_symlink():  # removed, never followed: what it points at is not the device's
            entry.unlink()
            report.files[entry.name] = 1
        elif entry.is_file() and _is_sqlite(entry):
            for table, n in empty_database(entry).items():
                report.rows[f"{entry.name}:{table}"] = n
        elif entry.is_dir():
            report.files[entry.name + "/"] = _remove_tree(entry)
        elif database is not None and database.is_file() and not database.is_symlink():
            continue  # folded back into its database by the VACUUM and checkpoint
        elif entry.exists():  # (a companion may have gone with its database's checkpoint)
            entry.unlink()
            report.files[entry.name] = 1
    return report


def retained_topics(config: DoorbellConfig) -> list[str]:
    """The topics the device keeps retained on the broker, whether or not they are set now."""
    topics = Topics(config.base_topic)
    known = [topics.status, topics.motion, topics.mode, topics.snapshot]
    prefix = config.uplink.discovery_prefix
    known.append(f"{prefix}/device/{config.device.id}/config")
    return known


def _client(config: DoorbellConfig) -> mqtt.Client:
    cfg = config.mqtt
    refuse_insecure(cfg, config.uplink.allow_insecure)
    version = mqtt.MQTTv5 if cfg.protocol == "5" else mqtt.MQTTv311
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"{config.device.id}-erase-{uuid.uuid4().hex[:6]}",
        protocol=version,
    )
    configure_client(client, cfg)
    return client


def clear_retained(config: DoorbellConfig, settle: float = 1.0, timeout: float = 10.0) -> list[str]:
    """Finds the device's retained messages (subscribing to its base topic) and deletes them and
    the known retained topics with empty retained messages. Raises OSError/RuntimeError."""
    client = _client(config)
    found: set[str] = set()
    subscribed = threading.Event()
    lock = threading.Lock()
    base = Topics(config.base_topic).base
    known = retained_topics(config)

    def on_message(c: Any, u: Any, message: mqtt.MQTTMessage) -> None:
        if message.retain and message.payload:
            with lock:
                found.add(message.topic)

    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect(config.mqtt.host, config.mqtt.port, keepalive=config.mqtt.keepalive)
    client.loop_start()
    try:
        client.subscribe([(f"{base}/#", 1), (known[-1], 1)])
        if not subscribed.wait(timeout):
            raise RuntimeError("the broker did not confirm the subscription")
        time.sleep(settle)  # retained messages arrive right after the subscription
        client.unsubscribe([f"{base}/#", known[-1]])
        with lock:
            topics = sorted(set(known) | found)
        infos = [client.publish(t, b"", qos=1, retain=True) for t in topics]
        for info in infos:
            info.wait_for_publish(timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    return topics


def erase_device(config: DoorbellConfig, data_dir: Path, broker: bool = True) -> ErasureReport:
    if device_running(data_dir):
        raise DeviceRunningError(
            "the device is running on this data dir: stop it first (systemctl stop doorbell)"
        )
    report = erase_files(data_dir)
    if broker:
        try:
            report.topics_cleared = clear_retained(config)
        except (OSError, RuntimeError, ValueError, InsecureBrokerError) as exc:
            report.mqtt_error = f"{config.mqtt.host}:{config.mqtt.port}: {exc}"
            log.warning("erase: %s", report.mqtt_error)
    return report
