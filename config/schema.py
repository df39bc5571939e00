"""The whole configuration: one section per concern, defaults in the models."""

from __future__ import annotations

from doorbell.config.base import Section
from doorbell.config.camera import CameraConfig
from doorbell.config.classify import ClassifyConfig
from doorbell.config.device import ButtonConfig, DeviceConfig, ModesConfig, RuntimeConfig
from doorbell.config.motion import MotionConfig
from doorbell.config.privacy import AuditConfig, PrivacyConfig, RequestsConfig
from doorbell.config.record import RecordConfig, StorageConfig
from doorbell.config.uplink import MqttConfig, UplinkConfig
from doorbell.config.web import WebConfig


class DoorbellConfig(Section):
    device: DeviceConfig = DeviceConfig()
    camera: CameraConfig = CameraConfig()
    motion: MotionConfig = MotionConfig()
    classify: ClassifyConfig = ClassifyConfig()
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
    web: WebConfig = WebConfig()

    @property
    def base_topic(self) -> str:
        return self.uplink.base_topic.replace("{device_id}", self.device.id)
