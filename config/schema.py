"""The whole configuration: one section per concern, defaults in the models."""

from __future__ import annotations

from config.base import Section
from config.camera import CameraConfig
from config.device import ButtonConfig, DeviceConfig, ModesConfig, RuntimeConfig
from config.motion import MotionConfig
from config.privacy import AuditConfig, PrivacyConfig, RequestsConfig
from config.record import RecordConfig, StorageConfig
from config.uplink import MqttConfig, UplinkConfig


class DoorbellConfig(Section):
    device: DeviceConfig = DeviceConfig()
    camera: CameraConfig = CameraConfig()
    motion: MotionConfig = MotionConfig()
    record: RecordConfig = RecordConfig()
    storage: StorageConfig = StorageConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    mqtt: MqttConfig = MqttConfig()
    uplink: UplinkConfig = UplinkConfig()
    requests: RequestsConfig = RequestsConfig()
    audit: AuditConfig = AuditConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    button: ButtonConfig = ButtonConfig()
    modes: ModesConfig = ModesConfig()

    @property
    def base_topic(self) -> str:
        return self.uplink.base_topic.replace("{device_id}", self.device.id)
