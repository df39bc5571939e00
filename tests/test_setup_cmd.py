"""`doorbell setup` against a real mosquitto, the synthetic camera and the real config loader."""

from __future__ import annotations

import base64
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from doorbell.config import DoorbellConfig, load_config
from doorbell.device.cli.setup_cmd import check_camera
from tests.support.broker import MosquittoBroker, free_port
from tests.support.process import doorbell
from tests.support.subscriber import Subscriber


def owner_key() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def setup_args(tmp_path: Path, broker_url: str, *extra: str) -> list[str]:
    return [
        "setup",
        "--yes",
        "--device-id",
        "porch",
        "--broker",
        broker_url,
        "--camera",
        "synthetic",
        "--config",
        str(tmp_path / "etc" / "doorbell.yaml"),
        "--data-dir",
        str(tmp_path / "data"),
        "--unit-dir",
        str(tmp_path / "units"),
        "--user",
        "root",
        *extra,
    ]


def test_setup_checks_camera_and_broker_then_writes_config_and_unit(
    tmp_path: Path, mosquitto: MosquittoBroker, subscribe: Callable[..., Subscriber]
) -> None:
    seen = subscribe("doorbell/porch/setup/#")
    key = owner_key()
    done = doorbell(*setup_args(tmp_path, mosquitto.url, "--owner-key", key))
    assert done.returncode == 0, done.stderr
    # The round trip went through this broker: a third client saw the test message.
    assert seen.wait_for(lambda msgs: len(msgs) == 1), seen.messages
    config_file = tmp_path / "etc" / "doorbell.yaml"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    config = load_config(config_file, environ={}).config  # the loader `doorbell run` uses
    assert config.device.id == "porch" and config.camera.source == "synthetic"
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.embedded) == (
        "127.0.0.1",
        mosquitto.port,
        False,
    )
    assert config.uplink.commands.owner_keys == [key]
    snapshot = cv2.imread(str(tmp_path / "data" / "setup-snapshot.jpg"))
    assert snapshot is not None and snapshot.shape == (480, 640, 3)
    unit = (tmp_path / "units" / "doorbell.service").read_text()
    assert f"run --config {config_file} --data-dir {tmp_path / 'data'}" in unit
    assert "no owner key" not in done.stdout


def test_setup_keeps_what_the_config_already_says(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    config_file = tmp_path / "etc" / "doorbell.yaml"
    config_file.parent.mkdir()
    first = owner_key()
    config_file.write_text(
        f"motion:\n  threshold: 31\nuplink:\n  commands:\n    owner_keys: [{first}]\n"
    )
    config_file.chmod(0o644)
    done = doorbell(*setup_args(tmp_path, mosquitto.url, "--no-service"))
    assert done.returncode == 0, done.stderr
    config = load_config(config_file, environ={}).config
    assert config.motion.threshold == 31
    assert config.uplink.commands.owner_keys == [first]
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert not (tmp_path / "units").exists()


def test_setup_asks_when_not_told(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    config_file = tmp_path / "doorbell.yaml"
    answers = f"hall\n{mosquitto.url}\n\nsynthetic:walk_up_ring\n\n"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "device",
            "setup",
            "--config",
            str(config_file),
            "--data-dir",
            str(tmp_path / "data"),
            "--no-service",
        ],
        input=answers,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    config = load_config(config_file, environ={}).config
    assert (config.device.id, config.camera.source) == ("hall", "synthetic:walk_up_ring")
    assert config.uplink.commands.owner_keys == []
    assert "no owner key yet" in done.stdout


@pytest.fixture
def broker_with_password(tmp_path: Path) -> Iterator[MosquittoBroker]:
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd is not installed (part of Debian's mosquitto)")
    passwords = tmp_path / "passwd"
    subprocess.run([tool, "-b", "-c", str(passwords), "cam", "s3cret"], check=True)
    passwords.chmod(0o600)
    broker = MosquittoBroker(
        tmp_path / "broker", extra_config=f"allow_anonymous false\npassword_file {passwords}\n"
    )
    broker.start()
    yield broker
    broker.stop()


def test_setup_uses_broker_credentials(
    tmp_path: Path, broker_with_password: MosquittoBroker
) -> None:
    url = broker_with_password.url
    wrong = doorbell(*setup_args(tmp_path, url, "--username", "cam", "--password", "nope"))
    assert wrong.returncode == 2
    assert len(wrong.stderr.strip().splitlines()) == 1 and "refused" in wrong.stderr
    assert not (tmp_path / "etc" / "doorbell.yaml").exists()
    right = doorbell(*setup_args(tmp_path, url, "--username", "cam", "--password", "s3cret"))
    assert right.returncode == 0, right.stderr
    config = load_config(tmp_path / "etc" / "doorbell.yaml", environ={}).config
    assert config.mqtt.username == "cam" and config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "s3cret"


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--device-id", "front door"], "device.id"),
        (["--broker", "http://example.com"], "--broker"),
        (["--owner-key", "not-a-key"], "uplink.commands.owner_keys"),
        (["--camera", "file:/no/such.mp4"], "no such file"),
        (["--camera", "picamera2"], "picamera2 needs Raspberry Pi OS"),
        (["--broker", f"mqtt://127.0.0.1:{free_port()}"], "cannot connect"),
        (["--broker", "mqtt://192.0.2.1:1883"], "refusing plain mqtt://"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    tmp_path: Path, mosquitto: MosquittoBroker, flags: list[str], says: str
) -> None:
    args = setup_args(tmp_path, mosquitto.url)
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    done = doorbell(*args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("doorbell: ") and says in lines[0], lines
    assert not (tmp_path / "etc" / "doorbell.yaml").exists()
    assert list((tmp_path / "etc").iterdir()) == []  # no staging file left behind
    assert not (tmp_path / "units").exists()


def test_an_unwritable_config_path_is_one_line_exit_2(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    (tmp_path / "a-file").write_text("")
    args = setup_args(tmp_path, mosquitto.url)
    args[args.index("--config") + 1] = str(tmp_path / "a-file" / "doorbell.yaml")
    done = doorbell(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"doorbell: cannot write {tmp_path}/a-file")


def test_the_setup_snapshot_has_the_privacy_masks_burned_in(tmp_path: Path) -> None:
    corner = {"name": "neighbour", "points": [[0, 0], [0.5, 0], [0.5, 0.5], [0, 0.5]]}
    config = DoorbellConfig.model_validate(
        {"camera": {"source": "synthetic"}, "privacy": {"masks": [corner]}}
    )
    assert check_camera(config, tmp_path / "setup.jpg") == (640, 480)
    shown = cv2.imread(str(tmp_path / "setup.jpg"))
    assert shown[4:236, 4:316].max() <= 8  # well inside the mask: black
    assert shown[250:, 330:].mean() > 40  # the rest is a picture
