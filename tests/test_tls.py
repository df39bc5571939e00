"""TLS to the broker: mosquitto with a test CA; mutual TLS works, a wrong CA or a missing client
certificate fails with a message that names the cause."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import DoorbellConfig
from tests.support.broker import MosquittoBroker, find_mosquitto, free_port
from tests.support.certificates import TestCA
from tests.support.session_subscriber import SessionSubscriber
from tests.support.uplink_producer import event
from uplink.uplink import Uplink


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[MosquittoBroker, int, TestCA]]:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    ca = TestCA(tmp_path / "pki")
    server = ca.issue("broker", server=True)
    tls_port = free_port()
    extra = "\n".join(
        [
            f"listener {tls_port} 127.0.0.1",
            f"cafile {ca.cert_file}",
            f"certfile {server.cert}",
            f"keyfile {server.key}",
            "require_certificate true",
            "",
        ]
    )
    broker = MosquittoBroker(tmp_path / "broker", extra_config=extra)
    broker.start()
    yield broker, tls_port, ca
    broker.stop()


def tls_config(port: int, data_dir: Path, ca_file: Path, cert: Path | None, key: Path | None):  # type: ignore[no-untyped-def]
    mqtt: dict[str, object] = {
        "host": "127.0.0.1", "port": port, "tls": True, "embedded": False,
        "ca_file": str(ca_file), "keepalive": 30,
    }  # fmt: skip
    if cert and key:
        mqtt |= {"cert_file": str(cert), "key_file": str(key)}
    return DoorbellConfig.model_validate(
        {"device": {"id": "porch", "data_dir": str(data_dir)}, "mqtt": mqtt}
    )


def wait(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_mutual_tls_delivers_events(
    tls_broker: tuple[MosquittoBroker, int, TestCA], tmp_path: Path
) -> None:
    broker, tls_port, ca = tls_broker
    client = ca.issue("porch", server=False)
    sub = SessionSubscriber(broker.port, ["doorbell/porch/event"], client_id="phone-tls")
    uplink = Uplink(tls_config(tls_port, tmp_path, ca.cert_file, client.cert, client.key), tmp_path)
    uplink.start()
    try:
        assert uplink.url == f"mqtts://127.0.0.1:{tls_port}"
        assert wait(lambda: uplink.connected), "no TLS connection"
        uplink.send_event(event("tls-1"))
        assert sub.wait_ids(1) == ["tls-1"]
    finally:
        uplink.stop(2)
        sub.close()


def test_wrong_ca_is_named_as_the_cause(
    tls_broker: tuple[MosquittoBroker, int, TestCA],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _broker, tls_port, ca = tls_broker
    client = ca.issue("porch", server=False)
    other = TestCA(tmp_path / "other-pki", name="someone else's CA")
    config = tls_config(tls_port, tmp_path, other.cert_file, client.cert, client.key)
    uplink = Uplink(config, tmp_path)
    caplog.set_level(logging.WARNING)
    uplink.start()
    try:
        assert wait(lambda: "not trusted" in caplog.text), caplog.text
        assert not uplink.connected
        line = next(r.getMessage() for r in caplog.records if "not trusted" in r.getMessage())
        assert "ca_file" in line and str(other.cert_file) in line and "\n" not in line
        uplink.send_event(event("kept-1"))
        assert uplink.stats.backlog == 1  # kept for when the CA is fixed
    finally:
        uplink.stop(1)


def test_missing_client_certificate_is_refused(
    tls_broker: tuple[MosquittoBroker, int, TestCA], tmp_path: Path
) -> None:
    _broker, tls_port, ca = tls_broker
    uplink = Uplink(tls_config(tls_port, tmp_path, ca.cert_file, None, None), tmp_path)
    uplink.start()
    try:
        assert not wait(lambda: uplink.connected, timeout=3)
    finally:
        uplink.stop(1)
