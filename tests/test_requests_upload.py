"""Sharing over real HTTP: interrupted uploads resume, an S3 presigned PUT (moto server) receives
a bundle whose digests match, and nothing sent names the device, its owner or its place."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import socket
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from doorbell.uplink.requests import result_payload
from doorbell.uplink.requests.uploader import HttpUploader, UploadError
from tests.support.connect_proxy import ConnectProxy
from tests.support.footage import DeviceFactory, Footage, PutServer, decode_frames, write_footage


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Footage:
    return write_footage(tmp_path_factory.mktemp("footage"))


@pytest.fixture
def make_device(tmp_path: Path, footage: Footage) -> Iterator[DeviceFactory]:
    factory = DeviceFactory(tmp_path, footage)
    yield factory
    factory.close()


def test_upload_cut_mid_body_is_sent_again_and_arrives_whole(make_device: DeviceFactory) -> None:
    server = PutServer(fail_first=1)
    try:
        dev = make_device(policy="share_all")
        reply = dev.core.handle_request(dev.request(server.url()))
    finally:
        server.close()
    assert reply.decision == "shared", reply
    assert server.cut == ["/upload/c-1.mp4"]  # the first attempt was dropped half-way
    paths = [r.path for r in server.received]
    assert sorted(paths) == sorted(set(paths))  # each file arrived exactly once, whole
    first = next(r for r in server.received if r.path == "/upload/c-1.mp4")
    assert sha(first.body) == first.headers["x-amz-meta-sha256"] == dev.index.clips[1].sha256


def test_failed_share_resumes_with_only_the_missing_files(make_device: DeviceFactory) -> None:
    server = PutServer(fail_first=2, fail_after=2)  # c-1.mp4 and c-1.jpg go, c-2.mp4 fails twice
    try:
        dev = make_device(policy="share_all", upload_attempts=2)
        reply = dev.core.handle_request(dev.request(server.url()))
        assert (reply.ok, reply.decision) == (False, "upload_failed")
        assert dev.core.get("req-1").state == "upload_failed"  # type: ignore[union-attr]
        dev.core.close()
        dev.core = dev.open()  # a restart in between
        [again] = dev.core.retry_uploads()
    finally:
        server.close()
    assert again.decision == "shared" and [c.id for c in again.clips] == ["c-1", "c-2"]
    paths = [r.path for r in server.received]
    assert paths == ["/upload/c-1.mp4", "/upload/c-1.jpg", "/upload/c-2.mp4", "/upload/c-2.jpg"]
    assert server.cut == ["/upload/c-2.mp4", "/upload/c-2.mp4"]
    assert "upload_failed" in dev.audit_kinds() and dev.audit_kinds()[-1] == "request_shared"


@pytest.fixture(scope="module")
def s3() -> Iterator[tuple[object, str]]:
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket="footage")
    yield client, "footage"
    server.stop()


def test_presigned_put_to_s3_receives_a_bundle_with_matching_digests(
    make_device: DeviceFactory, s3: tuple[object, str], tmp_path: Path
) -> None:
    client, bucket = s3
    url = client.generate_presigned_url(  # type: ignore[attr-defined]
        "put_object", Params={"Bucket": bucket, "Key": "case-1187/porch.tar"}, ExpiresIn=600
    )
    dev = make_device(policy="share_all")
    reply = dev.core.handle_request(dev.request(url))
    assert reply.decision == "shared", reply
    obj = client.get_object(Bucket=bucket, Key="case-1187/porch.tar")  # type: ignore[attr-defined]
    body = obj["Body"].read()
    assert obj["Metadata"]["sha256"] == sha(body)
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        names = sorted(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        clip = tar.extractfile("c-2.mp4").read()  # type: ignore[union-attr]
    assert names == ["c-1.jpg", "c-1.mp4", "c-2.jpg", "c-2.mp4", "manifest.json"]
    assert [c["id"] for c in manifest["clips"]] == ["c-1", "c-2"]
    assert sha(clip) == manifest["clips"][1]["sha256"] == reply.clips[1].sha256
    (tmp_path / "c-2.mp4").write_bytes(clip)
    assert decode_frames(tmp_path / "c-2.mp4") == 10


def _device_addresses() -> set[str]:
    found = {socket.gethostname()}
    with contextlib.suppress(OSError):
        found.update(socket.gethostbyname_ex(socket.gethostname())[2])
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5)
        found.update(out.stdout.split())
    except (OSError, subprocess.SubprocessError):
        pass
    return {a for a in found if a and a not in ("127.0.0.1", "::1", "localhost")}


@pytest.mark.parametrize("template", ["/upload/{name}", "/bundle"])
def test_nothing_sent_names_the_device_owner_or_place(
    make_device: DeviceFactory, template: str
) -> None:
    # No location/owner keys exist; put them where an owner plausibly would.
    owner, place = "Jane Smith", "14 Elm Street"
    sections = {
        "device": {"id": "smith-14-elm"},
        "uplink": {"base_topic": "home/14-elm-street/{device_id}"},
        "mqtt": {"username": "jane.smith", "password": "hunter2-secret"},
    }
    server = PutServer()
    try:
        dev = make_device(sections, policy="review")
        replies = [dev.core.handle_request(dev.request(server.url(template)))]
        replies.append(dev.core.approve("req-1"))
        replies += dev.core.poll()
    finally:
        server.close()
    assert replies[1].decision == "shared" and server.received
    secrets = {owner, place, "smith-14-elm", "14-elm-street", "jane.smith", "hunter2-secret"}
    secrets |= _device_addresses()
    secrets.add(str(dev.data_dir))
    text = [result_payload(r) for r in replies]  # JSON, paths, headers, tar member names
    binary = []  # video and JPEG bytes: a 2-letter host name occurs in them by chance
    for got in server.received:
        text.append(got.path.encode())
        text.append(json.dumps(got.headers).encode())
        if got.path == "/bundle":
            with tarfile.open(fileobj=io.BytesIO(got.body)) as tar:
                for member in tar.getmembers():
                    text.append(f"{member.name} {member.uname} {member.gname}".encode())
                    data = tar.extractfile(member).read()  # type: ignore[union-attr]
                    (text if member.name.endswith(".json") else binary).append(data)
        else:
            binary.append(got.body)
    for secret in secrets:
        # A short host name ("vm") occurs by chance inside base64 digests: match it as a word.
        word = re.escape(secret.lower().encode())
        pattern = word if len(secret) >= 6 else rb"(?<![a-z0-9+/])" + word + rb"(?![a-z0-9+/=])"
        for blob in text:
            assert not re.search(pattern, blob.lower()), f"{secret!r} leaked"
        if len(secret) >= 6:
            for blob in binary:
                assert secret.encode() not in blob, f"{secret!r} leaked"


def test_rebinding_name_is_refused_and_the_checked_address_is_the_one_connected(
    tmp_path: Path,
) -> None:
    """A name answering a public address and then a LAN one must not get footage through."""
    rebinding = {"cdn.example": ["93.184.215.14", "127.0.0.1"]}
    uploader = HttpUploader(lookup=lambda host, port: rebinding[host])
    with pytest.raises(UploadError, match="not a public address"):
        uploader.check_target("https://cdn.example/put")
    with pytest.raises(UploadError, match="cannot be resolved"):
        HttpUploader(lookup=lambda host, port: []).check_target("https://nowhere.example/")
    # Loopback and the LAN through NAT64 and 6to4 are no public addresses either.
    for hidden in (
        "64:ff9b::7f00:1",
        "2002:7f00:1::",
        "64:ff9b::c0a8:101",
        "2002:a00:1::1",
        "64:ff9b:1::808:808",
        "::127.0.0.1",
        "::ffff:10.0.0.1",
    ):
        with pytest.raises(UploadError, match="not a public address"):
            HttpUploader(lookup=lambda host, port, a=hidden: [a]).check_target("https://x.example/")
    for public in ("64:ff9b::808:808", "2002:808:808::1", "2606:4700:4700::1111", "93.184.215.14"):
        HttpUploader(lookup=lambda host, port, a=public: [a]).check_target("https://x.example/")

    def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror("Name or service not known")

    with pytest.raises(UploadError, match="cannot be resolved"):
        HttpUploader(lookup=no_such_host).check_target("https://nowhere.example/")

    # The connection goes to the address looked up once, with the URL's own host name.
    lookups: list[str] = []

    def once(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    server = PutServer()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\0" * 100)
    try:
        pinned = HttpUploader(allow_insecure=True, lookup=once, attempts=1)
        pinned.put(f"http://uploads.example:{server.port}/c", clip, hashlib.sha256(b"").hexdigest())
    finally:
        server.close()
    assert lookups == ["uploads.example"]
    [got] = server.received
    assert got.headers["host"] == f"uploads.example:{server.port}"


def test_upload_through_the_owners_proxy_tunnels_to_the_checked_address(
    tmp_path: Path,
) -> None:
    """With requests.upload_proxy the requester's server sees the proxy, not the home; the
    tunnel still goes to the address that was checked, with the URL's host name on top."""
    proxy, server = ConnectProxy(), PutServer()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\1" * 1000)
    try:
        uploader = HttpUploader(
            allow_insecure=True, lookup=lambda h, p: ["127.0.0.1"], proxy=proxy.url, attempts=1
        )
        url = f"http://uploads.example:{server.port}/c"
        uploader.put(url, clip, hashlib.sha256(clip.read_bytes()).hexdigest())
    finally:
        proxy.close()
        server.close()
    assert proxy.tunnels == [f"127.0.0.1:{server.port}"]
    [got] = server.received
    assert got.headers["host"] == f"uploads.example:{server.port}" and got.body == b"\1" * 1000


def test_a_requester_learns_nothing_of_the_owners_network_from_a_failed_upload(
    make_device: DeviceFactory,
) -> None:
    """An upload URL aimed at a closed port: the requester hears only that it failed; the owner
    sees why. Otherwise connection errors would map the home's LAN for whoever writes URLs."""
    from tests.support.broker import free_port

    port = free_port()  # nothing listens there
    dev = make_device(policy="share_all", upload_attempts=1)
    reply = dev.core.handle_request(dev.request(f"http://127.0.0.1:{port}/u/{{name}}"))
    assert (reply.ok, reply.decision) == (False, "upload_failed")
    text = result_payload(reply).decode()
    assert str(port) not in text and "refused" not in text.lower() and "127.0.0.1" not in text
    later = dev.core.poll() + [dev.core.get("req-1").reply(encrypted=False)]  # type: ignore[union-attr]
    assert all(str(port) not in (r.error or "") for r in later)
    stored = dev.core.get("req-1")
    assert stored is not None and "refused" in (stored.error or "").lower()  # for the owner
