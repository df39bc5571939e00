"""End-to-end encryption: what leaves the device is age ciphertext that Debian's `age` opens."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from doorbell.config import DoorbellConfig
from doorbell.uplink.e2e import AgeEncryptor, E2EError, decrypt_file
from tests.support.footage import DeviceFactory, Footage, PutServer, decode_frames, write_footage

AGE = shutil.which("age") or "/usr/bin/age"
AGE_KEYGEN = shutil.which("age-keygen") or "/usr/bin/age-keygen"

pytestmark = pytest.mark.skipif(
    not Path(AGE).exists() or not Path(AGE_KEYGEN).exists(), reason="age is not installed"
)


def keygen(path: Path) -> str:
    """An identity file made by Debian's age-keygen; returns its public key (age1...)."""
    subprocess.run([AGE_KEYGEN, "-o", str(path)], check=True, capture_output=True)
    out = subprocess.run([AGE_KEYGEN, "-y", str(path)], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def age_decrypt(identity: Path, source: Path, target: Path) -> None:
    subprocess.run(
        [AGE, "-d", "-i", str(identity), "-o", str(target), str(source)],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Footage:
    return write_footage(tmp_path_factory.mktemp("footage"))


@pytest.fixture
def make_device(tmp_path: Path, footage: Footage) -> Iterator[DeviceFactory]:
    factory = DeviceFactory(tmp_path, footage)
    yield factory
    factory.close()


def test_uploaded_clip_is_ciphertext_that_age_decrypts_and_plays(
    make_device: DeviceFactory, tmp_path: Path
) -> None:
    phone, tablet = tmp_path / "phone.key", tmp_path / "tablet.key"
    recipients = [keygen(phone), keygen(tablet)]
    server = PutServer()
    try:
        dev = make_device({"privacy": {"e2e": {"recipients": recipients}}}, policy="share_all")
        reply = dev.core.handle_request(dev.request(server.url()))
    finally:
        server.close()
    assert reply.decision == "shared" and reply.encrypted
    names = sorted(r.path for r in server.received)
    assert names == [f"/upload/c-{n}.{ext}.age" for n in (1, 2) for ext in ("jpg", "mp4")]
    clip = next(r for r in server.received if r.path == "/upload/c-1.mp4.age")
    assert clip.body.startswith(b"age-encryption.org/v1")
    assert b"ftyp" not in clip.body and b"avc1" not in clip.body
    assert clip.headers["x-amz-meta-sha256"] == hashlib.sha256(clip.body).hexdigest()
    sealed, opened = tmp_path / "c-1.mp4.age", tmp_path / "c-1.mp4"
    sealed.write_bytes(clip.body)
    for identity in (phone, tablet):  # every recipient can open it
        age_decrypt(identity, sealed, opened)
        assert hashlib.sha256(opened.read_bytes()).hexdigest() == reply.clips[0].sha256
        assert decode_frames(opened) == 10


def test_snapshot_payload_helper_round_trips_with_the_age_cli(tmp_path: Path) -> None:
    identity = tmp_path / "owner.key"
    recipient = keygen(identity)
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
    sealed = AgeEncryptor([recipient]).encrypt(jpeg)
    assert sealed != jpeg and jpeg[:64] not in sealed
    (tmp_path / "snap.age").write_bytes(sealed)
    age_decrypt(identity, tmp_path / "snap.age", tmp_path / "snap.jpg")
    assert (tmp_path / "snap.jpg").read_bytes() == jpeg
    assert AgeEncryptor([]).encrypt(jpeg) == jpeg  # no recipients: nothing to do


def test_decrypt_file_reads_what_the_age_cli_wrote(tmp_path: Path) -> None:
    identity, other = tmp_path / "owner.key", tmp_path / "other.key"
    recipient = keygen(identity)
    keygen(other)
    plain = tmp_path / "clip.mp4"
    plain.write_bytes(b"not really a clip, but bytes" * 100)
    sealed = tmp_path / "clip.mp4.age"
    subprocess.run(
        [AGE, "-r", recipient, "-o", str(sealed), str(plain)], check=True, capture_output=True
    )
    assert decrypt_file(sealed, identity) == plain.read_bytes()
    with pytest.raises(E2EError, match="cannot decrypt"):
        decrypt_file(sealed, other)
    target = tmp_path / "again.age"
    AgeEncryptor([recipient]).encrypt_file(plain, target)
    assert decrypt_file(target, identity) == plain.read_bytes()


@pytest.mark.parametrize("bad", ["age1notakey", "ssh-ed25519 AAAA", "AGE-SECRET-KEY-1QQQQ", ""])
def test_config_refuses_what_is_not_an_age_recipient(bad: str) -> None:
    with pytest.raises(ValidationError, match="age X25519 recipient"):
        DoorbellConfig.model_validate({"privacy": {"e2e": {"recipients": [bad]}}})
