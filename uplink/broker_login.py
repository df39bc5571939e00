"""The embedded broker's one account: made on first start, kept 0600, shown to the owner once.

No default password (ETSI EN 303 645): every device makes its own. The device's own client, and
`doorbell watch` or `doorbell owner send` on the same machine, read it from the data dir; anyone
else has to be given it.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from doorbell.config import DoorbellConfig
from doorbell.config.data_dir import DataDir
from doorbell.config.uplink import MqttConfig

USERNAME = "doorbell"


@dataclass(frozen=True)
class BrokerLogin:
    username: str
    password: str
    created: bool = False  # made just now: the caller tells the owner, once

    @classmethod
    def load(cls, files: DataDir) -> BrokerLogin | None:
        try:
            data = json.loads(files.broker_login.read_text())
            return cls(str(data["username"]), str(data["password"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @classmethod
    def load_or_create(cls, files: DataDir) -> BrokerLogin:
        found = cls.load(files)
        if found is not None and files.broker_passwords.exists():
            return found
        login = cls(USERNAME, secrets.token_urlsafe(24), created=True)
        _write_private(
            files.broker_login, json.dumps({"username": USERNAME, "password": login.password})
        )
        _write_private(files.broker_passwords, f"{USERNAME}:{_argon2(login.password)}\n")
        return login


def _argon2(password: str) -> str:
    # The password is 32 random bytes, not a human's: a light Argon2 costs a connect 10 ms and
    # 8 MB instead of 0.3 s and 64 MB, which matters on a Pi Zero's 512 MB under a connect flood.
    from pwdlib.hashers.argon2 import Argon2Hasher

    return Argon2Hasher(time_cost=1, memory_cost=8192, parallelism=1).hash(password)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def uses_embedded(config: DoorbellConfig) -> bool:
    mqtt = config.mqtt
    return mqtt.embedded and mqtt.is_loopback()


def with_login(mqtt: MqttConfig, login: BrokerLogin) -> MqttConfig:
    """`mqtt` with the embedded broker's account (and the only version amqtt speaks)."""
    return mqtt.model_copy(
        update={
            "username": login.username,
            "password": SecretStr(login.password),
            "password_file": None,
            "protocol": "3.1.1",
        }
    )


def client_settings(config: DoorbellConfig) -> MqttConfig:
    """How a client on this machine (`watch`, `owner send`, `erase`) reaches the broker: with the
    embedded broker's account when that is the broker and no account is configured."""
    if uses_embedded(config) and not config.mqtt.username:
        login = BrokerLogin.load(config.device.data)
        if login is not None:
            return with_login(config.mqtt, login)
    return config.mqtt
