"""motion.outline's ghost check, `ghosts`: for one region, and for several at once (issue 27's
round 16), which must give each region the verdict it gets on its own."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doorbell.config.motion import MotionConfig
from doorbell.device.emulation.scenarios import load_scenario
from doorbell.motion import detector as detector_module
from doorbell.motion.detector import GHOST_MIN_EDGE, GHOST_RATIO, MotionDetector
from doorbell.motion.outline import edges, ghosts
from doorbell.motion.regions import around


def plain(level: int = 120, size: tuple[int, int] = (40, 60)) -> np.ndarray:
    return np.full(size, level, np.uint8)


def with_square(image: np.ndarray, level: int = 30) -> np.ndarray:
    out = image.copy()
    out[12:28, 20:40] = level  # crisp sides
    return out


def alone(current: np.ndarray, background: np.ndarray, diff: np.ndarray, min_edge: float) -> bool:
    """One region, the whole of these crops."""
    height, width = current.shape
    boxes = [(0, 0, width, height)]
    return ghosts(current, background, diff, 8.0, boxes, GHOST_RATIO, min_edge)[0]


def check(current: np.ndarray, background: np.ndarray) -> bool:
    return alone(current, background, cv2.absdiff(current, background), GHOST_MIN_EDGE)


def test_an_outline_in_the_background_only_is_a_ghost_and_one_in_the_frame_is_not() -> None:
    empty, square = plain(), with_square(plain())
    assert check(empty, square)  # it left: its outline is in the background
    assert not check(square, empty)  # it arrived: its outline is in the frame


def test_a_soft_outline_in_the_background_is_no_ghost() -> None:
    soft = cv2.GaussianBlur(with_square(plain()), (0, 0), 4)
    assert not check(plain(), soft)


def test_a_blur_over_a_texture_as_crisp_as_its_outline_is_no_ghost() -> None:
    # An insect at the lens over gravel: where the frame is blurred the background is crisp and
    # the frame soft, as at a ghost's outline; but the background's texture around it is as
    # crisp (the "around" rule: a ghost's outline stands out from what is around it).
    rng = np.random.default_rng(3)
    gravel = cv2.resize(
        rng.integers(40, 200, (20, 30), np.uint8), (60, 40), interpolation=cv2.INTER_NEAREST
    )
    blurred = cv2.GaussianBlur(gravel, (0, 0), 3)
    current = gravel.copy()
    current[10:30, 16:44] = blurred[10:30, 16:44]
    # (the other rules would call it a ghost: the edge of the difference crisp in the
    # background, over GHOST_RATIO times as crisp as in the frame)
    inside = cv2.threshold(cv2.absdiff(current, gravel), 8, 255, cv2.THRESH_BINARY)[1]
    edge = cv2.subtract(inside, cv2.erode(inside, np.ones((3, 3), np.uint8)))
    outline = edges(gravel, edge)
    assert outline > GHOST_MIN_EDGE and outline > GHOST_RATIO * edges(current, edge)
    assert not check(current, gravel)


def regions(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int]]]:
    """A background and a frame on a soft texture, squares gone from the frame (ghosts) and come
    into it (visitors), and boxes around them a few pixels too wide or too narrow: a side on
    the square's outline or inside it is where a crop's edge handling differs from the whole
    array's."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    height, width = 48, 64
    texture = rng.integers(90, 150, (height, width), np.uint8)
    background = cv2.GaussianBlur(texture, (0, 0), 3)
    current = cv2.add(background, rng.integers(0, 3, (height, width), np.uint8))
    boxes = []
    for _ in range(draw(st.integers(1, 6))):
        x, y = draw(st.integers(0, width - 6)), draw(st.integers(0, height - 6))
        w, h = draw(st.integers(5, min(24, width - x))), draw(st.integers(5, min(24, height - y)))
        into = background if draw(st.booleans()) else current
        into[y : y + h, x : x + w] = draw(st.sampled_from((10, 60, 200, 250)))
        grow = [draw(st.integers(-3, 3)) for _ in range(4)]
        x0, y0 = max(0, x - grow[0]), max(0, y - grow[1])
        x1, y1 = min(width, x + w + grow[2]), min(height, y + h + grow[3])
        boxes.append((x0, y0, x1 - x0, y1 - y0))
    return current, background, boxes


@settings(max_examples=80, deadline=None)
@given(st.composite(regions)())
def test_several_regions_checked_at_once_get_the_verdicts_each_gets_alone(
    case: tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int]]],
) -> None:
    current, background, boxes = case
    diff = cv2.absdiff(current, background)
    each = []
    for x, y, w, h in boxes:
        window = (slice(y, y + h), slice(x, x + w))
        each.append(alone(current[window], background[window], diff[window], 6.0))
    assert ghosts(current, background, diff, 8.0, boxes, GHOST_RATIO, 6.0) == each


# foliage_visitor from frame 300 (the visitor in view): its first ghost check on a frame the
# camera shook is at frame 433.
FIRST, LAST = 300, 434


def offset(view: np.ndarray) -> tuple[int, int]:
    """Where a 2-D view starts in the array it is cut from (row, column)."""
    base = view.base
    assert isinstance(base, np.ndarray)
    start = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return divmod(start, base.strides[0])


def test_the_ghost_check_sees_the_background_where_it_is_not_where_a_shake_moved_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The uint8 background made for the range is reused by the ghost check; on a frame where
    # the camera shook, the detector's reference is the background moved by the shake, which
    # the check must not use (a ghost's outline is where the background has it).
    scenario = load_scenario("foliage_visitor")
    detector = MotionDetector(MotionConfig(), (320, 240))
    seen = {"checks": 0, "moved": 0}
    frame: dict[str, np.ndarray] = {}  # this frame's background at its first check

    def spy(current: np.ndarray, background: np.ndarray, *rest: Any) -> list[bool]:
        # (a frame's first check, the regions that stayed, comes before any take-in; the blurs'
        # check after them may see them on a shaken frame, where the unmoved background is made
        # afresh: either is unmoved)
        now = cv2.convertScaleAbs(detector._known)  # (before this frame's learning)
        own = frame.setdefault("own", now)
        reference = detector._reference
        seen["moved"] += reference is not None and not np.array_equal(reference, own)
        y, x = offset(current)
        height, width = current.shape
        crop = (slice(y, y + height), slice(x, x + width))
        assert np.array_equal(background, own[crop]) or np.array_equal(background, now[crop])
        seen["checks"] += 1
        return ghosts(current, background, *rest)

    monkeypatch.setattr(detector_module, "ghosts", spy)
    for seq in range(FIRST, LAST):
        frame.clear()
        detector.process(scenario.render(seq)[1], seq / 15)
    assert seen["moved"]  # (the scene has ghost checks on frames the camera shook)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[st.integers(0, 200)] * 4), min_size=1, max_size=9))
def test_the_box_around_regions_holds_each_and_no_more(
    boxes: list[tuple[int, int, int, int]],
) -> None:
    # (motion.regions.around, the window the ghosts are checked in and the box held out of
    # learning: a plain loop standing in for min and max over the boxes)
    x0, y0, x1, y1 = around(boxes)
    assert x0 == min(x for x, _, _, _ in boxes)
    assert y0 == min(y for _, y, _, _ in boxes)
    assert x1 == max(x + w for x, _, w, _ in boxes)
    assert y1 == max(y + h for _, y, _, h in boxes)
