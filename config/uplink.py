"""`mqtt:` (how to reach the broker) and `uplink:` (what is sent, and how durably)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from doorbell.config.base import FilePath, Section, Switch
from doorbell.config.privacy import Ed25519Key


class MqttConfig(Section):
    host: str = Field("127.0.0.1", min_length=1, max_length=253)
    port: int = Field(1883, ge=1, le=65535)
    tls: Switch = False
    embedded: Switch = Field(
        True, description="if nothing answers on a loopback host:port, start amqtt there"
    )
    protocol: Literal["auto", "5", "3.1.1"] = Field(
        "auto",
        description="MQTT version; auto: 5, falling back to 3.1.1 if the broker speaks only that",
    )
    keepalive: int = Field(60, ge=30, le=1200, description="seconds; AWS IoT accepts 30-1200")
    ca_file: FilePath | None = None
    cert_file: FilePath | None = None
    key_file: FilePath | None = None
    alpn: list[str] = Field(default_factory=list, description='e.g. ["x-amzn-mqtt-ca"] on 443')
    username: str | None = None
    password: SecretStr | None = None
    password_file: FilePath | None = None

    @field_validator("ca_file", "cert_file", "key_file", "password_file")
    @classmethod
    def _a_readable_file(cls, path: Path | None) -> Path | None:
        # checked with the config (`config check` too), not when the first connect fails
        if path is None:
            return None
        # undecodable bytes from argv arrive as surrogates, which pydantic cannot put in a message
        shown = str(path).encode("utf-8", "backslashreplace").decode("utf-8")
        if not path.is_file():
            raise ValueError(f"no such file: {shown}")
        if not os.access(path, os.R_OK):
            raise ValueError(f"cannot read {shown}")
        return path

    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


class OutboxConfig(Section):
    max_messages: int = Field(10_000, ge=10, le=1_000_000)
    max_age_hours: float = Field(168.0, gt=0.0, le=24.0 * 365)
    rate_per_second: float = Field(100.0, gt=0.0, le=10_000.0, description="backlog replay rate")
    inflight: int = Field(
        20, ge=1, le=1000, description="messages published and not yet acknowledged, at most"
    )
    synchronous: Literal["normal", "full"] = Field(
        "full", description="SQLite sync: full survives power cuts, normal only process crashes"
    )
    reserve_bytes: int = Field(
        1024 * 1024,
        ge=0,
        le=256 * 1024 * 1024,
        description="room kept inside the outbox for alerts on a full disk (at most 5% of it)",
    )


# Every command the device answers on `<base>/cmd/<name>` and its control socket (docs/mqtt.md).
CommandName = Literal[
    "mode", "motion", "snapshot", "press", "status", "ping", "footage_request", "footage_decision"
]


class CommandsConfig(Section):
    """Who may command the device over MQTT (uplink/command_auth.py, docs/security.md)."""

    owner_keys: list[Ed25519Key] = Field(
        default_factory=list,
        max_length=16,
        description="base64 raw Ed25519 public keys whose signed commands are obeyed",
    )
    unsigned: list[CommandName] = Field(
        default_factory=list,
        description="commands taken without a signature, e.g. [mode, snapshot] for Home Assistant",
    )
    max_skew_seconds: float = Field(
        300.0, ge=10.0, le=3600.0, description="a signed command's issued_at, at most this far off"
    )
    per_minute: int = Field(
        30, ge=1, le=6000, description="commands taken per topic per minute; more are dropped"
    )
    total_per_minute: int = Field(
        120,
        ge=1,
        le=60000,
        description="unsigned or unknown-key commands taken a minute on all topics together",
    )


class UplinkConfig(Section):
    base_topic: str = Field(
        "doorbell/{device_id}", min_length=1, max_length=128, pattern=r"^[^#+]+$"
    )
    allow_insecure: Switch = Field(False, description="allow plain mqtt:// to a non-loopback host")
    max_payload_bytes: int = Field(128 * 1024, ge=1024, le=256 * 1024 * 1024)
    telemetry_seconds: float = Field(60.0, ge=1.0, le=86_400.0)
    max_incoming_bytes: int = Field(
        256 * 1024,
        ge=16 * 1024,
        le=16 * 1024 * 1024,
        description="MQTT 5 Maximum Packet Size: the broker sends nothing larger",
    )
    max_command_bytes: int = Field(
        16 * 1024, ge=256, le=1024 * 1024, description="larger command bodies are refused"
    )
    homeassistant: Switch = True
    discovery_prefix: str = Field("homeassistant", min_length=1, pattern=r"^[^#+]+$")
    outbox: OutboxConfig = OutboxConfig()
    commands: CommandsConfig = CommandsConfig()
