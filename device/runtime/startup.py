"""Opening a device: the checks that come before anything runs, the camera, the embedded broker,
then `Device` with every collaborator built. What fails here fails in one line, before a thread
starts."""

from __future__ import annotations

import cv2

from doorbell.config import DoorbellConfig
from doorbell.device.runtime.device import Device
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.sources import open_source
from doorbell.uplink.embedded_broker import start_embedded
from doorbell.uplink.mqtt_link import refuse_insecure


def open_device(config: DoorbellConfig, options: RunOptions | None = None) -> Device:
    """Build a device ready to run: refuses an insecure broker, starts the embedded one if asked
    for, opens the camera, then builds every collaborator. Raises SourceError,
    InsecureBrokerError or BrokerError."""
    refuse_insecure(config.mqtt, config.uplink.allow_insecure)
    # Capture, analysis and recording each have a thread; OpenCV's own pool would split each
    # small call (a 320x240 resize) across the cores and then spin waiting for the next one:
    # 0.6 ms of CPU a frame at 768x576 in real time, and slower at --speed max too.
    cv2.setNumThreads(1)
    source = open_source(config.camera)  # a camera it does not know is said before anything runs
    embedded = start_embedded(config)
    try:
        source.open()
        try:
            device = Device(embedded.config, source, options)
        except BaseException:
            source.close()
            raise
    except BaseException:
        if embedded.broker is not None:
            embedded.broker.stop()
        raise
    device.broker = embedded.broker
    if embedded.login is not None:  # made just now: the owner sees it once, never in a log
        device.echo(
            f"embedded broker on {config.mqtt.host}:{config.mqtt.port}: user "
            f"{embedded.login.username}, password {embedded.login.password} "
            f"(kept in {config.device.data.broker_login}, readable by this account only)"
        )
    return device
