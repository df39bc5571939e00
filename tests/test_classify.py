"""What moved: the label mapping and vote (pure), the crops, and the real shipped model on real
pictures (tests/data: scikit-image's photographs, OpenCV's dog and the highway footage; see its
README).

The model is installed by ./dev.sh (never fetched by a test): without it the model's tests are
skipped, and fail under CI=true.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from doorbell.config.camera import CameraConfig
from doorbell.config.classify import ClassifyConfig
from doorbell.config.motion import MotionConfig
from doorbell.device.classify.classifier import Classifier
from doorbell.device.classify.crops import crop_rect, crops, merged
from doorbell.device.classify.labels import UNKNOWN, FrameLabels, frame_labels, vote
from doorbell.device.classify.model_file import default_model, open_classifier
from doorbell.device.classify.runtime import cpu_has_fp16, load, release_mapped_pages
from doorbell.device.classify.ssd import ssd_anchors
from doorbell.device.runtime.analysis import analyze
from doorbell.device.runtime.frame import Frame, i420_of
from doorbell.device.sources import open_source
from doorbell.motion.events import EventTracker
from doorbell.motion.types import Box, MotionResult

DATA = Path(__file__).parent / "data"


# -- the mapping and the vote -------------------------------------------------------------------
def test_detector_classes_map_onto_labels_and_the_rest_is_left_out() -> None:
    frame = frame_labels(7, [{"Person": 0.4, "Chair": 0.9}, {"Car": 0.7, "Bicycle": 0.8}])
    assert frame.seq == 7
    assert frame.scores == {"person": 0.4, "vehicle": 0.8, "animal": 0.0, "package": 0.0}
    assert frame_labels(1, [{"Cat": 0.3}, {"Dog": 0.6}, {"Box": 0.55}]).scores == {
        "person": 0.0,
        "vehicle": 0.0,
        "animal": 0.6,
        "package": 0.55,
    }


def test_a_frame_is_unknown_below_the_minimum_score() -> None:
    frame = FrameLabels(1, {"person": 0.49, "vehicle": 0.2})
    assert frame.top(0.5) == "unknown"
    assert frame.top(0.45) == "person"


def scores(**kw: float) -> dict[str, float]:
    return {"person": 0.0, "vehicle": 0.0, "animal": 0.0, "package": 0.0} | kw


def test_the_vote_takes_the_label_most_frames_saw_not_the_single_highest_score() -> None:
    frames = [
        FrameLabels(1, scores(person=0.6)),
        FrameLabels(2, scores(vehicle=0.95)),
        FrameLabels(3, scores(person=0.55, vehicle=0.3)),
    ]
    verdict = vote(frames, 0.5)
    assert verdict.label == "person"
    assert verdict.labels == scores(person=0.6, vehicle=0.95)  # the best each label reached


def test_a_tied_vote_goes_to_the_higher_summed_score() -> None:
    frames = [FrameLabels(1, scores(person=0.6)), FrameLabels(2, scores(animal=0.7))]
    assert vote(frames, 0.5).label == "animal"
    assert vote(list(reversed(frames)), 0.5).label == "animal"


def test_no_frame_reaching_the_minimum_is_unknown_with_its_scores() -> None:
    verdict = vote([FrameLabels(1, scores(person=0.3))], 0.5)
    assert verdict.label == "unknown" and verdict.labels["person"] == 0.3
    assert vote([], 0.5) == UNKNOWN


# -- crops ---------------------------------------------------------------------------------------
def test_overlapping_boxes_are_joined_and_the_largest_come_first() -> None:
    a, b, far = Box(0.1, 0.1, 0.2, 0.2), Box(0.25, 0.25, 0.2, 0.2), Box(0.8, 0.8, 0.05, 0.05)
    assert merged([far, a, b], 2) == [a.union(b), far]
    assert merged([far, a, b], 1) == [a.union(b)]


def test_a_crop_is_square_even_inside_the_picture_and_never_tiny() -> None:
    for box in (Box(0.0, 0.0, 0.01, 0.01), Box(0.95, 0.9, 0.05, 0.1), Box(0.4, 0.4, 0.1, 0.3)):
        x0, y0, x1, y1 = crop_rect(box, 640, 480, 0.3)
        assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480
        assert all(v % 2 == 0 for v in (x0, y0, x1, y1))
        assert x1 - x0 == y1 - y0 >= 0.3 * 480 - 2
    wide = crop_rect(Box(0.0, 0.3, 1.0, 0.2), 640, 480, 0.3)
    assert wide == (0, 0, 640, 480)  # wider than the picture is tall: all of it


def test_a_crop_shows_what_is_in_the_box_of_the_main_picture() -> None:
    bgr = np.zeros((480, 640, 3), np.uint8)
    bgr[200:260, 400:460] = (0, 0, 255)  # a red square
    [rgb] = crops(i420_of(bgr), [Box(400 / 640, 200 / 480, 60 / 640, 60 / 480)], 300, 3, 0.0)
    assert rgb.shape == (300, 300, 3)
    red = rgb[:, :, 0] > 150
    assert red[150, 150] and not red[5, 5]  # the box in the middle, its margin around it
    assert 0.25 < red.mean() < 0.5  # (1 / 1.5)^2 of the crop


def test_the_anchors_are_mediapipes_1917() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (1917, 4)
    np.testing.assert_allclose(anchors[0], [0.5 / 19, 0.5 / 19, 0.1, 0.1], rtol=1e-5)
    np.testing.assert_allclose(
        anchors[-1], [0.5, 0.5, 0.95**0.5, 0.95**0.5], rtol=1e-5
    )  # interpolated


# -- the real model on real pictures --------------------------------------------------------------
@pytest.fixture(scope="module")
def classifier() -> Classifier:
    found = open_classifier(ClassifyConfig())
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"the classifier's model is missing on CI ({default_model()}: ./dev.sh install)"
            )
        pytest.skip(
            f"the classifier's model is not installed ({default_model()}): ./dev.sh install"
        )
    return found


def photo(name: str) -> np.ndarray:
    bgr = cv2.imread(str(DATA / name))
    assert bgr is not None, name
    height, width = bgr.shape[:2]
    return i420_of(bgr[: height & ~1, : width & ~1])


@pytest.mark.parametrize(
    ("name", "box", "label"),
    [
        ("astronaut.jpg", Box(0.1, 0.1, 0.6, 0.9), "person"),
        ("chelsea.jpg", Box(0.2, 0.1, 0.6, 0.9), "animal"),
        ("astronaut.jpg", None, "person"),  # no box: the whole picture
        ("chelsea.jpg", None, "animal"),
        ("dog.jpg", Box(0.2, 0.2, 0.6, 0.6), "animal"),  # the model's Dog, not its Cat
        ("coffee.jpg", Box(0.3, 0.1, 0.4, 0.7), "unknown"),  # a cup is none of the labels
    ],
)
def test_the_shipped_model_names_real_photographs(
    classifier: Classifier, name: str, box: Box | None, label: str
) -> None:
    frame = classifier.classify(1, photo(name), [box] if box else [])
    assert frame.top(0.5) == label, frame.scores


def resident_mb(path: Path) -> float:
    """This process's resident memory in the mappings of the file at `path`, or of the files
    under it if it is a directory."""
    target, total, inside = str(path.resolve()), 0, False
    with open("/proc/self/smaps", encoding="utf-8") as smaps:
        for line in smaps:
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                inside = len(head) == 6 and (
                    head[5] == target or head[5].startswith(target + os.sep)
                )
            elif inside and head[0] == "Rss:":
                total += int(head[1])
    return total / 1024


def test_the_model_files_pages_are_handed_back_once_its_weights_are_packed(
    classifier: Classifier,
) -> None:
    """The 9.5 MB file is mapped while the interpreter is built, then not read per frame: its
    pages do not stay in the device's RSS (benchmarks/classify_memory.py)."""
    assert classifier.classify(1, photo("astronaut.jpg"), []).top(0.5) == "person"
    assert resident_mb(default_model()) < 1.0


def test_the_runtimes_code_that_only_built_the_model_is_handed_back(
    classifier: Classifier,
) -> None:
    """LiteRT's libraries kept 16 MB of their code resident once a model was built (and
    loaded); a frame runs 3-4 MB of it, which comes back as it runs, and the model still
    classifies right."""
    import ai_edge_litert

    assert classifier.classify(1, photo("chelsea.jpg"), []).top(0.5) == "animal"
    assert resident_mb(Path(ai_edge_litert.__file__).parent) < 8.0


def test_a_mapping_with_a_page_of_its_own_is_never_handed_back(tmp_path: Path) -> None:
    """A library's relocated pages are private copies in a read-only mapping: handed back, they
    would be read in again from the file, relocations lost. Such a mapping is left alone."""
    import ctypes
    import mmap

    path = tmp_path / "lib.so"
    path.write_bytes(b"a" * 2 * mmap.PAGESIZE)
    with open(path, "rb") as file:
        mapped = mmap.mmap(file.fileno(), 0, flags=mmap.MAP_PRIVATE)
    mapped[0:1] = b"b"  # a private copy of the first page, as a relocation makes
    address = ctypes.addressof(ctypes.c_char.from_buffer(mapped))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    assert libc.mprotect(address, len(mapped), mmap.PROT_READ) == 0  # read-only, as after RELRO
    release_mapped_pages(path)
    assert mapped[0:2] == b"ba"


def test_the_fp16_runtime_is_built_without_importing_ml_dtypes(classifier: Classifier) -> None:
    """LiteRT's CompiledModel imports ml_dtypes to name types this model never uses (5.9 MB of
    private memory): the classifier builds it with a stand-in, gone once it is built."""
    if not cpu_has_fp16():
        pytest.skip("no fp16 arithmetic here: the classic interpreter, which has no ml_dtypes")
    assert "ml_dtypes" not in sys.modules


def test_the_fp16_and_fp32_runtimes_agree_and_both_hand_the_file_back(
    classifier: Classifier,
) -> None:
    """fp16 where the CPU has it, the fp32 interpreter elsewhere (a Pi 4): the same scores to
    within fp16's precision, and neither keeps the model file's pages."""
    model = default_model()
    tensor = (cv2.resize(cv2.imread(str(DATA / "chelsea.jpg")), (300, 300))[..., ::-1])[None]
    tensor = tensor.astype(np.float32) * (2.0 / 255.0) - 1.0
    outputs = {}
    for fp16 in (False, cpu_has_fp16()):
        loaded = load(model, fp16=fp16)
        assert resident_mb(model) < 1.0, loaded.kind
        outputs[loaded.kind] = [o.copy() for o in loaded.run(tensor)]
        del loaded
    first, *others = outputs.values()
    for other in others:  # the outputs: box encodings (x10, x5 scaled), class logits
        boxes, logits = sorted(first, key=lambda o: o.shape[-1])
        boxes16, logits16 = sorted(other, key=lambda o: o.shape[-1])
        assert np.abs(boxes - boxes16).max() < 0.5  # a twentieth of an anchor at most
        scores, scores16 = (1 / (1 + np.exp(-x)) for x in (logits, logits16))
        assert np.abs(scores - scores16).max() < 0.02


def boxes_at(video: str, seqs: set[int]) -> dict[int, tuple[Frame, MotionResult]]:
    """The frames `seqs` of a real clip with the motion detector's boxes on each."""
    source = open_source(CameraConfig(source=f"file:{DATA / video}", speed="max"))
    source.open()
    seen: dict[int, tuple[Frame, MotionResult]] = {}

    def keep(frame: Frame, motion: MotionResult, tracker: EventTracker) -> None:
        if frame.seq in seqs:
            seen[frame.seq] = (frame, motion)

    try:
        analyze(source, MotionConfig(), keep, duration=(max(seqs) + 1) / source.fps)
    finally:
        source.close()
    return seen


def test_cars_on_a_real_highway_are_vehicles_and_the_event_votes_vehicle(
    classifier: Classifier,
) -> None:
    seen = boxes_at("highway-overlay.avi", {75, 175, 300})
    frames = []
    for seq, (frame, motion) in sorted(seen.items()):
        assert motion.boxes, seq
        frames.append(classifier.classify(seq, frame.main, motion.boxes))
    assert [f.top(0.5) for f in frames] == ["vehicle"] * 3, [f.scores for f in frames]
    verdict = vote(frames, 0.5)
    assert verdict.label == "vehicle" and verdict.labels["vehicle"] >= 0.6


# -- a device without the model or the runtime ---------------------------------------------------
def test_a_missing_model_is_one_log_line_and_no_classifier(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        found = open_classifier(ClassifyConfig(model=tmp_path / "gone.tflite"))
    assert found is None
    assert [r.getMessage() for r in caplog.records] == [
        f"classification off: no model at {tmp_path / 'gone.tflite'}; "
        "running on motion alone, events labelled unknown"
    ]


def test_a_file_that_is_not_a_model_is_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = tmp_path / "junk.tflite"
    model.write_bytes(b"not a model")
    (tmp_path / "junk.labels.txt").write_text("???\nPerson\n")
    with caplog.at_level(logging.INFO):
        assert open_classifier(ClassifyConfig(model=model)) is None
    [record] = caplog.records
    assert record.getMessage().startswith(f"classification off: model {model} not usable: ")


def test_a_machine_without_the_runtime_says_so_in_one_line() -> None:
    # A 32-bit Pi has no ai-edge-litert wheel: importing it fails there as it does here when
    # the module is blocked.
    code = (
        "import sys, logging; sys.modules['ai_edge_litert'] = None; logging.basicConfig();"
        "from doorbell.config.classify import ClassifyConfig;"
        "from doorbell.device.classify.model_file import open_classifier, default_model;"
        "import pathlib; m = pathlib.Path(sys.argv[1]);"
        "print(open_classifier(ClassifyConfig(model=m)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(default_model())],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.stdout == "None\n"
    if default_model().is_file():
        assert done.stderr.splitlines() == [
            "WARNING:doorbell.device.classify.model_file:classification off: the runtime "
            "ai-edge-litert is not installed (no wheel for this machine); running on motion "
            "alone, events labelled unknown"
        ]


def test_classification_switched_off_is_said_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        assert open_classifier(ClassifyConfig(enabled=False)) is None
    assert len(caplog.records) == 1
