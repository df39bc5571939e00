"""Faces in footage that leaves the home are filled before it goes (requests.redact: faces):
checked on real faces (tests/data/README.md) by a detector that is not the device's (an LBP
cascade, scikit-image), through a real share to a real HTTP server. The owner's clip stays as
recorded; without the face model nothing is sent; the owner's --no-redact sends it as recorded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from pyrage import x25519
from skimage import data as skdata
from skimage.feature import Cascade

from doorbell.device.classify.model_file import MODEL_SHA256 as PERSON_FP16_SHA256
from doorbell.device.classify.model_file import default_model, labels_of
from doorbell.device.classify.model_paths import INT8_NAME, digest_of
from doorbell.device.cli import cli
from doorbell.device.redaction import WORKER
from doorbell.device.redaction.people import people_problem
from doorbell.device.storage import EventIndex
from doorbell.uplink.e2e import AgeEncryptor
from doorbell.uplink.requests import FootageRequests
from doorbell.uplink.requests.audit import AuditLog
from doorbell.uplink.requests.face_model import MODEL_SHA256, model_problem
from doorbell.uplink.requests.models import Redaction
from doorbell.uplink.requests.person_pass import PERSON_MODEL_FAILED
from doorbell.uplink.requests.redaction import RedactionError
from doorbell.uplink.requests.redaction_worker import WorkerRedactor
from tests.support.footage import T0, Device, FootageClip, PutServer, decision_body, iso

DATA = Path(__file__).resolve().parent / "data" / "faces"
FPS = 20  # the redactor detects on every other frame here: the frames between are the hold's

needs_model = pytest.mark.skipif(
    model_problem() is not None, reason=f"{model_problem()} (./dev.sh test installs it)"
)


def faces_picture(shift: int = 0) -> np.ndarray:
    """640x480 RGB with two real faces: the astronaut (public domain, scikit-image) and Grace
    Hopper (public domain, matplotlib's sample data), the first moving `shift` pixels."""
    canvas = np.full((480, 640, 3), 100, np.uint8)
    astronaut = cv2.resize(skdata.astronaut(), (300, 300))
    hopper = cv2.imread(str(DATA / "grace_hopper.jpg"))[:, :, ::-1]
    canvas[100:400, 10 + shift : 310 + shift] = astronaut
    canvas[90:390, 360:616] = hopper
    return canvas


def write_clip(path: Path, frames: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height = 640, 480
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(faces_picture(shift=i), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def decoded(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


CASCADE = Cascade(skdata.lbp_frontal_face_cascade_filename())


Box = tuple[int, int, int, int]


def independent_faces(rgb: np.ndarray) -> list[Box]:
    """Faces an LBP cascade finds (not the device's model, not even a neural network)."""
    found = CASCADE.detect_multi_scale(
        img=rgb, scale_factor=1.2, step_ratio=1, min_size=(48, 48), max_size=(160, 160)
    )
    return [(f["c"], f["r"], f["c"] + f["width"], f["r"] + f["height"]) for f in found]


def faces_left(before: np.ndarray, after: np.ndarray) -> int:
    """Faces found before that are still found after: a hit after whose centre lies in a face
    found before in the same frame (the cascade's odd false hit elsewhere, on the edge of a
    filled box, say, is not a face that left the home)."""
    was = independent_faces(before)
    left = 0
    for x0, y0, x1, y1 in independent_faces(after):
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        left += any(a <= cx <= c and b <= cy <= d for a, b, c, d in was)
    return left


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FootageClip]:
    """A 1.5 s 640x480 clip and its snapshot, with faces, as the device stores them."""
    root = tmp_path_factory.mktemp("faces")
    write_clip(root / "clips" / "f-1.mp4", frames=30)
    (root / "snapshots").mkdir()
    ok, jpeg = cv2.imencode(".jpg", faces_picture()[:, :, ::-1])
    assert ok
    (root / "snapshots" / "f-1.jpg").write_bytes(jpeg.tobytes())
    clip = (root / "clips" / "f-1.mp4").read_bytes()
    row = FootageClip(
        id="f-1",
        file="clips/f-1.mp4",
        start_wall=T0 - 3000,
        end_wall=T0 - 2998.5,
        seconds=1.5,
        bytes=len(clip),
        sha256=sha(clip),
        snapshot="snapshots/f-1.jpg",
        event_id="ev-f-1",
    )
    return root, row


@pytest.fixture
def server() -> Iterator[PutServer]:
    srv = PutServer()
    yield srv
    srv.close()


def device(tmp_path: Path, recorded: tuple[Path, FootageClip], **sets: object) -> Device:
    source, row = recorded
    data_dir = tmp_path / "data"
    for sub in ("clips", "snapshots"):
        shutil.copytree(source / sub, data_dir / sub)
    return Device(data_dir, [row], {}, **sets)


def uploaded(server: PutServer, name: str) -> bytes:
    [body] = [r.body for r in server.received if r.path.endswith("/" + name)]
    return body


def refused_int8(folder: Path) -> Path:
    """The installed person models copied into `folder`, the int8 file with one bit changed
    since it was made: the path a device's share worker is given (it refuses the file as it
    loads it, and runs the fp16 one beside it)."""
    folder.mkdir()
    int8 = default_model().with_name(INT8_NAME)
    for path in (default_model(), labels_of(default_model()), int8, digest_of(int8)):
        shutil.copy(path, folder / path.name)
    shutil.copy(labels_of(int8), folder / labels_of(int8).name)
    data = bytearray((folder / INT8_NAME).read_bytes())
    data[len(data) // 2] ^= 1
    (folder / INT8_NAME).write_bytes(bytes(data))
    return folder / INT8_NAME


@needs_model
def test_a_shared_clip_and_snapshot_leave_with_every_face_filled(
    tmp_path: Path,
    recorded: tuple[Path, FootageClip],
    server: PutServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The faces with the face model alone; with the person model installed too (CI), also
    the record of the person pass that ran."""
    dev = device(tmp_path, recorded, policy="share_all", redact="faces")
    dev.core.close()
    with_people = people_problem() is None
    # The device's worker, heads too, named an int8 person model changed since it was chosen:
    # the record names the fp16 model the worker ran instead, not the file it was given.
    people_model = refused_int8(tmp_path / "models") if with_people else None
    worker = WorkerRedactor(module=WORKER, people_model=people_model)
    dev.core = FootageRequests(
        dev.config, dev.data_dir, dev.index, clock=dev.clock, redactor=worker
    )
    reply = dev.core.handle_request(dev.request(server.url()))
    assert reply.ok and reply.decision == "shared", reply
    if with_people:
        done = Redaction(
            method="faces",
            model_sha256=MODEL_SHA256,
            heads="covered",
            person_model_sha256=PERSON_FP16_SHA256,
            person_model_weights="fp16",
        )
        int8 = tmp_path / "models" / INT8_NAME
        notes = [
            f"redaction worker: person pass: the int8 model {int8} is not the file made at "
            "install time (sha256 differs): the fp16 model instead"
        ]  # the owner's log says why; the requester's record names the file
    else:
        done = Redaction(
            method="faces",
            model_sha256=MODEL_SHA256,
            heads="not_covered",
            heads_reason="no_person_model",
        )
        notes = []
    assert reply.redaction == done
    logged = [r.getMessage() for r in caplog.records if r.name.endswith("redaction_worker")]
    assert logged == notes
    before = decoded((recorded[0] / "clips" / "f-1.mp4").read_bytes())
    after = decoded(uploaded(server, "f-1.mp4"))
    assert len(after) == len(before) and after[0].shape == before[0].shape
    # The independent detector finds both faces before, and none in any frame after: also in
    # the frames the device's model did not look at (it detects on every other one at 20 fps).
    assert all(len(independent_faces(f)) >= 2 for f in before[::5])
    looked_at = set(range(1, len(after), 2)) | set(range(0, len(after), 6))  # odd: the hold's
    assert [i for i in sorted(looked_at) if faces_left(before[i], after[i])] == []
    snapshot = cv2.imdecode(np.frombuffer(uploaded(server, "f-1.jpg"), np.uint8), 1)[:, :, ::-1]
    assert len(independent_faces(faces_picture())) >= 2
    assert faces_left(faces_picture(), snapshot) == 0
    # The owner's own clip is as recorded; what left is said in the audit log.
    assert sha((dev.data_dir / "clips" / "f-1.mp4").read_bytes()) == recorded[1].sha256
    [shared] = [e for e in AuditLog.in_dir(dev.data_dir).entries() if e["kind"] == "request_shared"]
    assert shared["data"]["redaction"] == done.model_dump()
    assert dev.core.get("req-1").reply(encrypted=False).redaction == done  # type: ignore[union-attr]
    dev.core.close()


def test_without_the_face_model_nothing_leaves_until_the_owner_says_as_recorded(
    tmp_path: Path, recorded: tuple[Path, FootageClip], server: PutServer
) -> None:
    dev = device(tmp_path, recorded, policy="share_all", redact="faces")
    dev.core.close()
    missing = WorkerRedactor(tmp_path / "no-model.onnx")
    core = FootageRequests(dev.config, dev.data_dir, dev.index, clock=dev.clock, redactor=missing)
    reply = core.handle_request(dev.request(server.url()))
    assert not reply.ok and reply.decision == "upload_failed", reply
    assert server.received == []
    stored = core.get("req-1")
    assert stored is not None and stored.error is not None
    assert "no face model" in stored.error and "--no-redact" in stored.error
    assert not (dev.data_dir / "shares").exists() or not any((dev.data_dir / "shares").iterdir())
    # The owner decides this request may go as recorded.
    reply = core.approve("req-1", redact="none", by="owner-cli")
    assert reply.ok and reply.decision == "shared", reply
    assert reply.redaction is not None and reply.redaction.method == "none"
    assert sha(uploaded(server, "f-1.mp4")) == recorded[1].sha256
    core.close()


def test_a_signed_decision_can_share_one_request_as_recorded(
    tmp_path: Path, recorded: tuple[Path, FootageClip], server: PutServer
) -> None:
    dev = device(tmp_path, recorded, policy="review", redact="faces")
    assert dev.core.handle_request(dev.request(server.url())).decision == "pending_review"
    decision = decision_body("req-1", "approve", iso(T0 + 600), redact="none")
    reply = dev.core.handle_decision(dev.owner.sign(decision))
    assert reply is not None and reply.ok and reply.decision == "shared", reply
    assert sha(uploaded(server, "f-1.mp4")) == recorded[1].sha256
    stored = dev.core.get("req-1")
    assert stored is not None and stored.reply(encrypted=False).redaction == reply.redaction
    dev.core.close()


@needs_model
def test_a_clip_stored_encrypted_is_not_sent_when_it_cannot_be_redacted(
    tmp_path: Path, recorded: tuple[Path, FootageClip], server: PutServer
) -> None:
    source, row = recorded
    data_dir = tmp_path / "data"
    (data_dir / "clips").mkdir(parents=True)
    key = x25519.Identity.generate()
    AgeEncryptor([str(key.to_public())]).encrypt_file(
        source / "clips" / "f-1.mp4", data_dir / "clips" / "f-1.mp4.age"
    )
    stored = dataclasses.replace(row, file="clips/f-1.mp4.age", snapshot=None)
    dev = Device(data_dir, [stored], {}, policy="share_all", redact="faces")
    reply = dev.core.handle_request(dev.request(server.url()))
    assert not reply.ok and reply.decision == "upload_failed", reply
    assert server.received == []
    error = dev.core.get("req-1").error  # type: ignore[union-attr]
    assert error is not None and "stored encrypted" in error and "--no-redact" in error
    dev.core.close()


@needs_model
def test_the_owner_exports_a_copy_with_faces_filled(
    tmp_path: Path, recorded: tuple[Path, FootageClip]
) -> None:
    source, row = recorded
    data_dir = tmp_path / "data"
    shutil.copytree(source / "clips", data_dir / "clips")
    index = EventIndex(data_dir / "index.sqlite")
    index.add_event("ev-f-1", "motion", row.start_wall)
    index.add_clip("f-1", ["ev-f-1"], row.file, row.start_wall)
    index.finish_clip("f-1", row.file, row.end_wall, row.seconds, 30, row.bytes, row.sha256)
    index.close()
    dest = tmp_path / "out.mp4"
    args = ["clips", "export", "f-1", str(dest), "--redact", "--data-dir", str(data_dir)]
    result = CliRunner().invoke(cli, args)
    assert (result.exit_code, result.output) == (0, f"exported {dest} (faces filled)\n")
    before = decoded((data_dir / "clips" / "f-1.mp4").read_bytes())
    after = decoded(dest.read_bytes())
    assert len(after) == len(before)
    assert [i for i in range(1, len(after), 4) if faces_left(before[i], after[i])] == []
    assert sha((data_dir / "clips" / "f-1.mp4").read_bytes()) == row.sha256


@needs_model
def test_a_bundle_says_in_its_manifest_what_was_done(
    tmp_path: Path, recorded: tuple[Path, FootageClip], server: PutServer
) -> None:
    dev = device(tmp_path, recorded, policy="share_all", redact="faces", upload_attempts=1)
    server.fail_first = 1  # the first upload is cut: the bundle made for it is sent again later
    failed = dev.core.handle_request(dev.request(server.url("/upload/bundle.tar")))
    assert failed.decision == "upload_failed" and failed.redaction is None, failed
    [reply] = dev.core.retry_uploads()  # no worker runs again: the copies are there
    assert reply.ok and reply.decision == "shared", reply
    [bundle] = server.received
    with tarfile.open(fileobj=io.BytesIO(bundle.body)) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        clip = tar.extractfile("f-1.mp4").read()  # type: ignore[union-attr]
    # this share's worker has no person pass (uplink's own): its record says so
    assert manifest["redaction"] == {
        "method": "faces",
        "model_sha256": MODEL_SHA256,
        "heads": "not_covered",
        "person_model_sha256": None,
        "person_model_weights": None,
        "heads_reason": "no_person_model",
    }
    # the retry says what the attempt that made the copies did
    assert reply.redaction is not None
    assert reply.redaction.model_dump() == manifest["redaction"]
    assert manifest["clips"][0]["sha256"] == recorded[1].sha256 != sha(clip)  # as recorded: kept
    before = decoded((recorded[0] / "clips" / "f-1.mp4").read_bytes())
    assert faces_left(before[1], decoded(clip)[1]) == 0
    dev.core.close()


def test_a_device_without_the_model_says_why_in_one_line(tmp_path: Path) -> None:
    missing = model_problem(tmp_path / "none.onnx")
    assert missing is not None and "no face model at" in missing and "\n" not in missing
    (tmp_path / "other.onnx").write_bytes(b"not the model")
    assert "not the pinned one" in (model_problem(tmp_path / "other.onnx") or "")


def test_a_worker_that_takes_too_long_is_stopped_and_the_share_fails(tmp_path: Path) -> None:
    """A hung worker must not leave its request `sharing` for ever: past its time it is killed
    and redaction fails with one reason (here the time is shorter than Python's start-up)."""
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"\0" * 1024)
    with pytest.raises(RedactionError, match=r"took over 0\.001 s and was stopped"):
        WorkerRedactor(tmp_path / "model.onnx", timeout=0.001).redact_files(
            [(source, tmp_path / "out.mp4")]
        )
    assert not (tmp_path / "out.mp4").exists()


@needs_model
def test_a_snapshot_that_is_not_a_picture_fails_in_one_line(tmp_path: Path) -> None:
    # the face pass decodes snapshots with PyAV (no OpenCV in that pass): a broken one is a
    # RedactionError naming the file, as a broken clip is
    broken = tmp_path / "snap.jpg"
    broken.write_bytes(b"\xff\xd8\xff not a JPEG after all")
    with pytest.raises(RedactionError) as failed:
        WorkerRedactor().redact_files([(broken, tmp_path / "out.jpg")])
    assert len(str(failed.value).splitlines()) == 1
    assert "snap.jpg" in str(failed.value)
    assert not (tmp_path / "out.jpg").exists()


@needs_model
def test_a_person_model_that_cannot_be_loaded_is_said_in_the_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The heads are not covered, and the worker says so rather than naming a model."""
    snapshot = tmp_path / "snap.jpg"
    assert cv2.imwrite(str(snapshot), faces_picture()[:, :, ::-1])
    junk = tmp_path / INT8_NAME.replace("int8", "junk")
    junk.write_bytes(b"not a model")
    labels_of(junk).write_text("background\nPerson\n", encoding="utf-8")  # only the model fails
    worker = WorkerRedactor(module=WORKER, people_model=junk)
    with caplog.at_level("WARNING", logger="doorbell.uplink.requests.redaction_worker"):
        assert worker.redact_files([(snapshot, tmp_path / "out.jpg")]) == PERSON_MODEL_FAILED
    assert (tmp_path / "out.jpg").is_file()
    # the detector refused the file (the runtime's own words), not a missing label map
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("redaction worker: person pass: people's heads not filled: ")
    assert "labels" not in line


def test_a_record_made_before_the_person_model_was_named_still_reads(tmp_path: Path) -> None:
    old = Redaction.model_validate_json(f'{{"method": "faces", "model_sha256": "{MODEL_SHA256}"}}')
    assert old.heads is None and old.person_model_sha256 is None
    audit = AuditLog.in_dir(tmp_path)  # an entry of each shape in one chain
    audit.append("request_shared", {"redaction": {"method": "faces", "model_sha256": "ab"}})
    new = Redaction(method="faces", model_sha256="ab", heads="not_covered")
    audit.append("request_shared", {"redaction": new.model_dump()})
    assert audit.verify().ok
    with pytest.raises(ValueError):  # a public field: no value outside its few
        Redaction(method="faces", heads="mostly")  # type: ignore[arg-type]
