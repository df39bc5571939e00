"""The camera shake (motion.shake): its estimate on a real frame moved by known sub-pixel shifts,
and the background moved by it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doorbell.motion.resample import downscale
from doorbell.motion.shake import MIN_RESPONSE, ShakeEstimator

DATA = Path(__file__).parent / "data"
WORK = (160, 120)  # the detector's analysis size for 320x240 lores frames


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    """A real frame at 320x240: a highway, trees, a railing (one frame read, not the clip)."""
    capture = cv2.VideoCapture(str(DATA / "highway-trees.avi"))
    try:
        ok, bgr = capture.read()
    finally:
        capture.release()
    assert ok
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


def moved(full: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """`full` moved by (dx, dy) analysis pixels (bicubic at full size), then brought to the
    analysis size as the detector does: a shake seen through the camera's own resampling."""
    height, width = full.shape
    scale = width / WORK[0]
    matrix = np.array([[1, 0, dx * scale], [0, 1, dy * scale]], np.float32)
    shifted = cv2.warpAffine(
        full, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return downscale(shifted, WORK)


# Sub-pixel and whole shifts, 0.5-3 px, in both directions and both axes.
SHIFTS = [(0.5, 0), (0, -0.5), (0.75, 0.75), (-1.25, 0.5), (2, -1.5), (-3, 0), (0.4, -1)]


def test_the_shift_of_a_real_frame_is_found_to_a_quarter_of_a_pixel(frame: np.ndarray) -> None:
    # (this frame's fine texture is a hard case: the middle 80x60 of round 15 was off by 0.15 px
    # on average, 0.23 at most; 64x64 0.20 and 0.32; 48x48 0.29 and 0.45; 32x32 0.65 and 1.2)
    estimator = ShakeEstimator(WORK)
    background = downscale(frame, WORK)
    errors = []
    for dx, dy in SHIFTS:
        shift, response = estimator.estimate(moved(frame, dx, dy), background)
        assert response > MIN_RESPONSE
        errors.append(float(np.hypot(shift[0] - dx, shift[1] - dy)))
    assert np.mean(errors) < 0.25, errors
    assert max(errors) < 0.4, errors


def test_no_shift_is_reported_for_a_frame_that_did_not_move(frame: np.ndarray) -> None:
    estimator = ShakeEstimator(WORK)
    background = downscale(frame, WORK)
    noisy = cv2.add(background, np.full_like(background, 2))  # (an even change of light)
    assert estimator.shift(noisy, background) is None


def test_the_background_moved_by_the_estimate_meets_the_shaken_frame(frame: np.ndarray) -> None:
    estimator = ShakeEstimator(WORK)
    background = downscale(frame, WORK)
    current = moved(frame, 1.5, -0.75)
    shift = estimator.shift(current, background)
    assert shift is not None
    inner = (slice(4, -4), slice(4, -4))  # (borders replicated: not the frame's own pixels)

    def residual(reference: np.ndarray) -> float:
        return float(cv2.absdiff(current, reference)[inner].mean())

    # (bilinear at the analysis size is not the camera's resampling: moved by the true shift,
    # a residual remains at fine edges; the estimate's is close to it, far below unmoved)
    truth = cv2.warpAffine(
        background,
        np.array([[1, 0, 1.5], [0, 1, -0.75]], np.float32),
        WORK,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    assert residual(estimator.moved(background, shift)) < 1.25 * residual(truth)
    assert residual(truth) < residual(background) / 3


@pytest.mark.parametrize("size", [(160, 120), (161, 121), (200, 150), (256, 192)])
def test_the_shift_is_estimated_in_the_middle_of_the_frame(size: tuple[int, int]) -> None:
    # Only the middle (a 72x72 square, a little more than the window) moved, by (3, -2) px: a
    # window from the middle finds that shift, one off it (a corner's) finds the frame still.
    # (whole pixels: the test is where the window is, not how fine the estimate is)
    width, height = size
    rng = np.random.default_rng(11)
    background = cv2.GaussianBlur(rng.integers(0, 256, (height, width), np.uint8), (0, 0), 1.5)
    matrix = np.array([[1, 0, 3], [0, 1, -2]], np.float32)
    shifted = cv2.warpAffine(
        background, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    current = background.copy()
    left, top = (width - 72) // 2, (height - 72) // 2
    middle = (slice(top, top + 72), slice(left, left + 72))
    current[middle] = shifted[middle]
    (dx, dy), response = ShakeEstimator(size).estimate(current, background)
    assert response > MIN_RESPONSE
    assert np.hypot(dx - 3, dy + 2) < 0.5, (dx, dy)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([(160, 120), (160, 90), (200, 150), (161, 121), (64, 48)]),
    st.floats(-20, 20, allow_nan=False),
    st.floats(-20, 20, allow_nan=False),
)
def test_the_background_is_moved_as_warp_affine_moves_it(
    size: tuple[int, int], dx: float, dy: float
) -> None:
    # (the bilinear translation round 15 made with warpAffine, borders replicated; warpAffine
    # rounds the shift to 1/32 px, so a level apart on some pixels)
    background = cv2.GaussianBlur(
        np.random.default_rng(7).integers(0, 256, size[::-1], dtype=np.uint8), (5, 5), 0
    )
    matrix = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    warped = cv2.warpAffine(
        background, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    moved = ShakeEstimator(size).moved(background, (dx, dy))
    assert moved.shape == background.shape
    assert int(cv2.absdiff(moved, warped).max()) <= 1
