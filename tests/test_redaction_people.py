"""The heads of people whose faces the face model does not find (seen from behind, far off) are
filled too in footage that leaves the home: checked on real footage (tests/data/README.md:
pedestrians in OpenCV's vtest.avi, seen from a first-floor window), against heads placed by hand.
And the plan that says which boxes go in which frame (pure), rule by rule.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from doorbell.device.redaction.people import open_person_finder, people_problem
from doorbell.uplink.requests.face_model import model_problem
from doorbell.uplink.requests.redaction import Redactor
from doorbell.uplink.requests.redaction_plan import covers, faceless_heads, head_region

WALKERS = Path(__file__).resolve().parent / "data" / "people" / "vtest-walkers.mp4"

# Head centres read off the frames by eye (x, y at 640x480), per frame of the clip: a person far
# off at the top left (a head of ~5 px), one walking away, a couple walking away, two in front.
HEADS = {
    0: [(204, 52), (491, 143), (408, 132), (431, 137), (274, 164), (332, 151)],
    5: [(191, 55), (504, 132), (422, 127), (442, 132), (302, 170), (326, 152)],
    10: [(177, 57), (515, 126), (437, 122), (456, 126), (331, 151)],
    15: [(167, 56), (527, 125), (449, 118), (468, 124), (319, 151)],
}

needs_models = pytest.mark.skipif(
    model_problem() is not None or people_problem() is not None,
    reason=f"{model_problem() or people_problem()} (./dev.sh install puts them there)",
)


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


# A filled box is one colour; what the encoder makes of it is not quite: H.264 leaves it within
# 6 levels; a JPEG at the snapshots' quality 90 rings up to 9 inside an 8x8 block that also holds
# the box's edge against the street (measured at (431, 137), 7 px inside its box's right edge:
# the box exactly flat before encoding, 5 to 9 after it as its fill colour moves by 1-3 levels).
# A real head here spreads over 55 levels or more, even 5 px far off.
H264_NOISE, JPEG_NOISE = 6, 12


def flat(rgb: np.ndarray, x: int, y: int, r: int = 2, noise: int = H264_NOISE) -> bool:
    """The (2r+1)-pixel square around (x, y) is one colour, give or take the encoder's `noise`:
    filled (a real head is never that flat)."""
    patch = rgb[y - r : y + r + 1, x - r : x + r + 1].astype(int)
    return bool(np.ptp(patch, axis=(0, 1)).max() <= noise)


@needs_models
def test_heads_without_a_found_face_are_filled_in_real_footage(tmp_path: Path) -> None:
    before = frames_of(WALKERS)
    redactor = Redactor(people=open_person_finder)
    # Nobody's face is found: they walk away, or are too far off for the face model.
    assert all(redactor.faces(before[k]) == [] for k in HEADS)
    assert not any(flat(before[k], x, y) for k, heads in HEADS.items() for x, y in heads)
    done = redactor.clip(WALKERS, tmp_path / "out.mp4")
    after = frames_of(tmp_path / "out.mp4")
    assert done.frames == len(after) == len(before) == 16
    # Also in frame 5, which the person detector did not look at (every other frame at 10 fps).
    left = [(k, x, y) for k, heads in HEADS.items() for x, y in heads if not flat(after[k], x, y)]
    assert left == []


@needs_models
def test_a_snapshot_has_the_same_heads_filled(tmp_path: Path) -> None:
    picture = frames_of(WALKERS)[0]
    ok, jpeg = cv2.imencode(".jpg", picture[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    (tmp_path / "snap.jpg").write_bytes(jpeg.tobytes())
    before = cv2.imread(str(tmp_path / "snap.jpg"))[:, :, ::-1]
    assert not any(flat(before, x, y, noise=JPEG_NOISE) for x, y in HEADS[0])
    Redactor(people=open_person_finder).image(tmp_path / "snap.jpg", tmp_path / "out.jpg")
    after = cv2.imread(str(tmp_path / "out.jpg"))[:, :, ::-1]
    assert [(x, y) for x, y in HEADS[0] if not flat(after, x, y, noise=JPEG_NOISE)] == []


@needs_models
def test_without_people_found_only_faces_are_filled(tmp_path: Path) -> None:
    """What the device did before: none of these heads is covered (the test above is the rule's)."""
    Redactor().clip(WALKERS, tmp_path / "out.mp4")
    after = frames_of(tmp_path / "out.mp4")
    assert not any(flat(after[k], x, y) for k, heads in HEADS.items() for x, y in heads)


def test_a_head_is_the_top_of_a_person_enlarged() -> None:
    # A person 100 px tall, 40 wide: the top 30 px, grown by a fifth on each side, and 10 px
    # above the box (where a detector's box often cuts the head).
    assert head_region((100, 50, 140, 150), 640, 480) == (92, 40, 148, 86)
    assert head_region((0, 0, 40, 100), 640, 480)[:2] == (0, 0)  # inside the frame


def test_a_person_whose_face_is_found_gets_no_head_box() -> None:
    person = (100, 50, 140, 150)
    face = (110, 52, 130, 75)  # in the head region: its own box covers it
    elsewhere = (300, 50, 320, 75)
    assert faceless_heads([person], [face], 640, 480) == []
    assert faceless_heads([person], [elsewhere], 640, 480) == [head_region(person, 640, 480)]


def test_a_head_seen_in_two_looks_is_moved_along_between_them() -> None:
    a, b = (100, 50, 120, 70), (108, 50, 128, 70)  # the same head, 8 px further on
    plan = covers(9, {}, {0: [a], 8: [b]}, reach=3, hold=3)
    assert plan[0] == [a] and plan[8] == [b]
    assert plan[4] == [(104, 50, 124, 70)]  # halfway, not where either look saw it


def test_a_head_seen_once_is_held_for_a_few_frames_around_it() -> None:
    a = (100, 50, 120, 70)
    plan = covers(12, {}, {0: [], 5: [a], 10: []}, reach=3, hold=3)
    assert [i for i, boxes in enumerate(plan) if boxes] == [2, 3, 4, 5, 6, 7, 8]


def test_a_face_covers_the_frames_around_each_look() -> None:
    face = (10, 10, 30, 30)
    plan = covers(10, {4: [face]}, {}, reach=2, hold=3)
    assert [i for i, boxes in enumerate(plan) if boxes] == [2, 3, 4, 5, 6]
