"""The int8 person model (device/classify/int8_weights.py): made from the real shipped fp16 model
as ./dev.sh makes it, it finds what the fp16 model finds in real photographs (tests/data); a copy
changed since it was made is refused in one line and the fp16 model runs instead; a device whose
CPU has no fp16 arithmetic (a Pi 4) and the share worker's person pass load it. The shipped fp16
model and its label map are held to their pins as they are loaded: a changed copy turns
classification off, or leaves the person pass to faces only, in one line.

The shipped model is installed by ./dev.sh (never fetched by a test): without it these tests are
skipped, and fail under CI=true.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from doorbell.config.classify import ClassifyConfig
from doorbell.device.classify import int8_weights, runtime
from doorbell.device.classify.int8_weights import (
    FP16_SHA256,
    LABELS_SHA256,
    LabelsRefused,
    convert,
    fp16_problem_once,
    fp32_model,
    int8_problem,
    label_names,
)
from doorbell.device.classify.model_file import default_model, labels_of, open_classifier
from doorbell.device.classify.model_paths import INT8_NAME, digest_of
from doorbell.device.classify.ssd import INPUT_SIZE, Detection, SsdDetector
from doorbell.device.redaction.people import open_person_finder, person_model

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def shipped() -> Path:
    if not default_model().is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the shipped model is missing on CI ({default_model()}: ./dev.sh install)")
        pytest.skip(f"the shipped model is not installed ({default_model()}): ./dev.sh install")
    return default_model()


@pytest.fixture(scope="module")
def made(shipped: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The int8 model as ./dev.sh makes it (the module run as a program), with what goes
    beside it: its sha256 and its label map."""
    folder = tmp_path_factory.mktemp("models")
    model = folder / INT8_NAME
    done = subprocess.run(
        [sys.executable, "-m", "doorbell.device.classify.int8_weights", str(shipped), str(model)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    digest_of(model).write_text(f"{done.stdout.strip()}  {INT8_NAME}\n", encoding="ascii")
    shutil.copy(labels_of(shipped), labels_of(model))
    return model


def copied(model: Path, folder: Path) -> Path:
    """`model` copied into `folder` with what goes beside it: its label map, and the sha256
    file the int8 model has."""
    beside = [labels_of(model)] + [d for d in (digest_of(model),) if d.exists()]
    for path in (model, *beside):
        shutil.copy(path, folder / path.name)
    return folder / model.name


def flipped(model: Path) -> Path:
    """`model` with one bit of one weight flipped: as a hostile disk might serve it."""
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 1
    model.write_bytes(bytes(data))
    return model


def changed_copy(model: Path, folder: Path) -> Path:
    return flipped(copied(model, folder))


def best(detector: SsdDetector, name: str) -> Detection:
    bgr = cv2.imread(str(DATA / name))
    assert bgr is not None, name
    rgb = cv2.resize(bgr[:, :, ::-1], (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
    return detector.detect(np.ascontiguousarray(rgb), 0.3)[0]


def test_the_int8_model_finds_what_the_fp16_model_finds_in_real_photographs(
    shipped: Path, made: Path
) -> None:
    names = labels_of(shipped).read_text(encoding="utf-8").splitlines()
    fp16, int8 = SsdDetector(shipped, names), SsdDetector(made, names)  # both on fp32 kernels
    assert made.stat().st_size < 0.6 * shipped.stat().st_size  # int8, not fp32 (twice fp16's)
    for photo, expected in [("astronaut.jpg", "Person"), ("chelsea.jpg", "Cat")]:
        a, b = best(fp16, photo), best(int8, photo)
        assert a.name == b.name == expected, (photo, a, b)
        assert abs(a.score - b.score) < 0.03, (photo, a.score, b.score)
        np.testing.assert_allclose(a.box, b.box, atol=0.01)


def test_the_same_model_gives_the_same_bytes(shipped: Path, made: Path) -> None:
    again = hashlib.sha256(convert(shipped.read_bytes())).hexdigest()
    assert digest_of(made).read_text(encoding="ascii").split()[0] == again


def test_a_changed_int8_model_is_refused_in_one_line_and_the_fp16_model_runs(
    made: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fp16 = tmp_path / default_model().name  # only its name and place matter here
    int8 = copied(made, tmp_path)
    assert int8_problem(int8) is None and fp32_model(fp16) == int8
    flipped(int8)
    with caplog.at_level(logging.INFO):
        assert fp32_model(fp16) == fp16
    assert [r.getMessage() for r in caplog.records] == [
        f"the int8 model {int8} is not the file made at install time (sha256 differs): the "
        "fp16 model instead (./dev.sh install makes it again)"
    ]


def test_an_int8_model_named_in_the_config_is_held_to_its_sha256_too(
    made: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """classify.model pointing at a file of the int8 model's name: checked as the device's own
    choice of it is, and refused in one line once changed."""
    int8 = changed_copy(made, tmp_path)
    with caplog.at_level(logging.INFO):
        assert open_classifier(ClassifyConfig(model=int8)) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"classification off: the int8 model {int8} is not the file made at install time "
        "(sha256 differs); running on motion alone, events labelled unknown"
    ]


def test_a_device_hashes_the_int8_model_once_as_it_starts_unless_it_changes(
    made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its classifier (a CPU without fp16 arithmetic) and its share worker's choice both ask."""
    hashed: list[Path] = []
    check = int8_weights.int8_problem
    monkeypatch.setattr(int8_weights, "int8_problem", lambda m: hashed.append(m) or check(m))
    fp16 = tmp_path / default_model().name
    int8 = copied(made, tmp_path)
    assert fp32_model(fp16) == fp32_model(fp16) == int8
    assert len(hashed) == 2  # just made: a change within the clock's tick would not show
    monkeypatch.setattr(int8_weights, "SETTLED_NS", -(10**12))  # as if made long ago
    hashed.clear()
    assert fp32_model(fp16) == fp32_model(fp16) == int8
    assert len(hashed) == 1
    with int8.open("ab") as file:  # changed since: its size
        file.write(b"\0")
    assert fp32_model(fp16) == fp16 and len(hashed) == 2


def test_a_file_that_is_not_a_model_is_one_line_and_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model")
    done = subprocess.run(
        [sys.executable, "-m", "doorbell.device.classify.int8_weights", str(junk), "out"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"int8_weights: {junk}: not a .tflite model (error)"]
    assert not (tmp_path / "out").exists()


def installed_int8() -> Path:
    int8 = default_model().with_name(INT8_NAME)
    if int8_problem(int8) is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{int8_problem(int8)} on CI (./dev.sh install makes it)")
        pytest.skip(f"{int8_problem(int8)} (./dev.sh install makes it)")
    return int8


def test_the_share_workers_person_pass_is_given_the_int8_model() -> None:
    assert person_model() == installed_int8()


def test_a_cpu_without_fp16_arithmetic_runs_the_int8_model(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    int8 = installed_int8()
    monkeypatch.setattr(runtime, "cpu_has_fp16", lambda: False)  # a Pi 4's Cortex-A72
    with caplog.at_level(logging.DEBUG, logger="doorbell.device.classify.runtime"):
        assert open_classifier(ClassifyConfig()) is not None
    [loaded] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("model ")]
    assert loaded.startswith(f"model {int8} on interpreter (XNNPACK, fp32)")


def test_the_person_pass_refuses_an_int8_model_changed_since_the_device_chose_it(
    shipped: Path, made: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copied(shipped, tmp_path)
    int8 = flipped(copied(made, tmp_path))  # the share worker's job names it; then a bit flips
    with caplog.at_level(logging.INFO, logger="doorbell.device.redaction.people"):
        finder = open_person_finder(int8)
    assert finder is not None  # the fp16 model beside it: heads are still filled
    assert [r.getMessage() for r in caplog.records] == [
        f"person pass: the int8 model {int8} is not the file made at install time (sha256 "
        "differs): the fp16 model instead"
    ]


def test_a_changed_fp16_model_is_refused_in_one_line_and_classification_is_off(
    shipped: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    changed = changed_copy(shipped, tmp_path)  # the shipped file's name: held to its pin
    with caplog.at_level(logging.INFO):
        assert open_classifier(ClassifyConfig(model=changed)) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"classification off: the model {changed} is not the file installed (sha256 differs "
        "from its pin); running on motion alone, events labelled unknown"
    ]


def test_the_person_pass_refuses_a_changed_fp16_model_and_fills_faces_only(
    shipped: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    changed = changed_copy(shipped, tmp_path)  # the int8 file absent or refused: this one
    with caplog.at_level(logging.INFO, logger="doorbell.device.redaction.people"):
        assert open_person_finder(changed) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"person pass: people's heads not filled: the model {changed} is not the file installed "
        "(sha256 differs from its pin)"
    ]


def test_a_device_hashes_the_fp16_model_once_unless_it_changes(
    shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[Path] = []
    check = int8_weights.fp16_problem
    monkeypatch.setattr(int8_weights, "fp16_problem", lambda m: hashed.append(m) or check(m))
    monkeypatch.setattr(int8_weights, "SETTLED_NS", -(10**12))  # as if installed long ago
    fp16 = copied(shipped, tmp_path)
    assert fp16_problem_once(fp16) is None and fp16_problem_once(fp16) is None
    assert hashed == [fp16]
    swap_person_and_box(labels_of(fp16))  # its label map changed since
    assert fp16_problem_once(fp16) == (
        f"the label map {labels_of(fp16)} is not the file installed (sha256 differs from its pin)"
    )
    with fp16.open("ab") as file:  # the model changed since: its size
        file.write(b"\0")
    assert fp16_problem_once(fp16) == (
        f"the model {fp16} is not the file installed (sha256 differs from its pin)"
    )
    assert len(hashed) == 3


def swap_person_and_box(labels: Path) -> None:
    """The label map at `labels` with two classes' names swapped: every person a package."""
    lines = labels.read_text(encoding="utf-8").splitlines(keepends=True)
    person, box = lines.index("Person\n"), lines.index("Box\n")
    lines[person], lines[box] = lines[box], lines[person]
    labels.write_text("".join(lines), encoding="utf-8")


def test_the_names_loaded_are_read_from_the_bytes_held_to_the_pin(
    shipped: Path, tmp_path: Path
) -> None:
    """The class names come from the one read that is checked: beside a shipped model a
    swapped map is refused there (as it would be had it been swapped after an earlier check),
    beside a model of the owner's own naming it is read as it is."""
    fp16 = copied(shipped, tmp_path)
    assert label_names(fp16)[4] == "Person"
    swap_person_and_box(labels_of(fp16))
    with pytest.raises(LabelsRefused, match="is not the file installed"):
        label_names(fp16)
    own = tmp_path / "owners_model.tflite"
    shutil.copy(labels_of(fp16), labels_of(own))
    assert "Person" in label_names(own) and label_names(own)[4] != "Person"


def test_a_swapped_label_map_turns_classification_off_and_the_person_pass_to_faces(
    shipped: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fp16 = copied(shipped, tmp_path)  # the model as pinned, its label map not
    swap_person_and_box(labels_of(fp16))
    with caplog.at_level(logging.INFO):
        assert open_classifier(ClassifyConfig(model=fp16)) is None
        assert open_person_finder(fp16) is None
    why = f"the label map {labels_of(fp16)} is not the file installed (sha256 differs from its pin)"
    assert [r.getMessage() for r in caplog.records] == [
        f"classification off: {why}; running on motion alone, events labelled unknown",
        f"person pass: people's heads not filled: {why}",
    ]


def test_an_int8_model_beside_a_swapped_label_map_is_refused_and_the_fp16_model_runs(
    made: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fp16 = tmp_path / default_model().name  # only its name and place matter here
    int8 = copied(made, tmp_path)
    swap_person_and_box(labels_of(int8))
    with caplog.at_level(logging.INFO):
        assert fp32_model(fp16) == fp16
    assert [r.getMessage() for r in caplog.records] == [
        f"the label map {labels_of(int8)} is not the file installed (sha256 differs from its "
        "pin): the fp16 model instead (./dev.sh install makes it again)"
    ]


def test_dev_sh_installs_the_files_held_to_the_pins() -> None:
    """The pins are the device's (int8_weights); ./dev.sh, a shell script, keeps a copy."""
    script = (Path(__file__).parents[1] / "dev.sh").read_text(encoding="utf-8")
    assert f'\nMODEL_SHA256="{FP16_SHA256}"\n' in script
    assert f'\nLABELS_SHA256="{LABELS_SHA256}"\n' in script
