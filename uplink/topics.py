"""Every MQTT topic the device uses, in one place (documented in docs/mqtt.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    base: str  # e.g. doorbell/<device_id>

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def event(self) -> str:
        return f"{self.base}/event"

    @property
    def motion(self) -> str:
        return f"{self.base}/motion"

    def motion_label(self, label: str) -> str:
        """ON while a motion alert with this label is open (Home Assistant's sensor per label)."""
        return f"{self.base}/motion/{label}"

    @property
    def ring(self) -> str:
        return f"{self.base}/ring"

    @property
    def snapshot(self) -> str:
        return f"{self.base}/snapshot"

    @property
    def telemetry(self) -> str:
        return f"{self.base}/telemetry"

    @property
    def mode(self) -> str:
        return f"{self.base}/mode"

    @property
    def motion_settings(self) -> str:
        return f"{self.base}/settings/motion"

    @property
    def health(self) -> str:
        """Whether the device can record, and why not (retained)."""
        return f"{self.base}/health"

    @property
    def audit_head(self) -> str:
        return f"{self.base}/audit/head"

    @property
    def audit_alert(self) -> str:
        return f"{self.base}/audit/alert"

    def command(self, name: str) -> str:
        return f"{self.base}/cmd/{name}"

    def command_result(self, name: str) -> str:
        return f"{self.base}/cmd/{name}/result"

    @property
    def commands(self) -> str:
        return f"{self.base}/cmd/+"
