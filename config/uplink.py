"""`mqtt:` (how to reach the broker) and `uplink:` (what is sent, and how durably)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from config.base import Section
from config.privacy import Ed25519Key


class MqttConfig(Section):
    host: str = Field("127.0.0.1", min_length=1, max_length=253)
    port: int = Field(1883, ge=1, le=65535)
    tls: bool = False
    embedded: bool = Field(
        True, description="if nothing answers on a loopback host:port, start amqtt there"
    )
    protocol: Literal["5", "3.1.1"] = "5"
    keepalive: int = Field(60, ge=30, le=1200, description="seconds; AWS IoT accepts 30-1200")
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    alpn: list[str] = Field(default_factory=list, description='e.g. ["x-amzn-mqtt-ca"] on 443')
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None

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


class UplinkConfig(Section):
    base_topic: str = Field(
        "doorbell/{device_id}", min_length=1, max_length=128, pattern=r"^[^#+]+$"
    )
    allow_insecure: bool = Field(False, description="allow plain mqtt:// to a non-loopback host")
    max_payload_bytes: int = Field(128 * 1024, ge=1024, le=256 * 1024 * 1024)
    telemetry_seconds: float = Field(60.0, ge=1.0, le=86_400.0)
    max_command_bytes: int = Field(
        16 * 1024, ge=256, le=1024 * 1024, description="larger command bodies are refused"
    )
    homeassistant: bool = True
    discovery_prefix: str = Field("homeassistant", min_length=1, pattern=r"^[^#+]+$")
    outbox: OutboxConfig = OutboxConfig()
    commands: CommandsConfig = CommandsConfig()
