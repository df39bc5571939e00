"""Privacy masks hide at least what they say, in every plane, and a mask changed on the running
device hides its new area at once: its brightness and its colour, in clips and snapshots."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from doorbell.config.base import NamedPolygon
from doorbell.config.privacy import PrivacyConfig
from doorbell.config.record import RecordConfig, StorageConfig
from doorbell.device.recording.clip import ClipInfo
from doorbell.device.recording.masks import PrivacyMask
from doorbell.device.recording.recorder import Recorder
from doorbell.device.runtime.frame import Frame, i420_of, packed, planes
from doorbell.device.storage.index import EventIndex

W, H, FPS = 64, 48, 15.0
LEFT = NamedPolygon(name="left", points=[(0.0, 0.0), (0.4, 0.0), (0.4, 1.0), (0.0, 1.0)])
RIGHT = NamedPolygon(name="right", points=[(0.6, 0.0), (1.0, 0.0), (1.0, 1.0), (0.6, 1.0)])
RED = (0, 0, 255)  # BGR: strong chroma, which a luma-only mask would leave showing


def red_frame(seq: int) -> Frame:
    bgr = np.zeros((H, W, 3), np.uint8)
    bgr[:] = RED
    yuv = i420_of(bgr)
    lores = cv2.resize(planes(yuv)[0], (32, 24))
    return Frame(seq, seq / FPS, 1_800_000_000.0 + seq / FPS, yuv, lores)


def redness(bgr: np.ndarray) -> float:
    """How red a picture is: red minus the mean of green and blue."""
    b, g, r = (bgr[..., i].astype(float) for i in range(3))
    return float((r - (g + b) / 2).mean())


def right_inside(bgr: np.ndarray) -> np.ndarray:
    # Well inside RIGHT (away from its edge, where H.264 and JPEG smear a little).
    return bgr[8:-8, int(0.6 * bgr.shape[1]) + 8 : -8]


def test_a_mask_changed_while_recording_hides_the_new_areas_colour_in_clip_and_snapshot(
    tmp_path: Path,
) -> None:
    clips: list[ClipInfo] = []
    recorder = Recorder(
        RecordConfig(pre_seconds=0.0, post_seconds=0.0),
        StorageConfig(),
        PrivacyConfig(masks=[LEFT]),
        tmp_path,
        FPS,
        (W, H),
        clips.append,
    )
    recorder.start()
    recorder.index = EventIndex(tmp_path / "index.sqlite")
    before = recorder.snapshot(red_frame(0).main).jpeg  # rasters for this size now cached
    recorder.event_started("e", "motion", 0.0, 1_800_000_000.0)
    for seq in range(60):
        if seq == 30:
            recorder.mask.replace([RIGHT])  # as the local page does
        recorder.push(red_frame(seq))
    recorder.event_ended("e", 59 / FPS, 1_800_000_000.0 + 59 / FPS, 1.0, [])
    recorder.close()
    after = recorder.snapshot(red_frame(0).main).jpeg
    decoded = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in (before, after)]
    assert redness(right_inside(decoded[0])) > 100  # RIGHT was not masked yet: red shows
    assert abs(redness(right_inside(decoded[1]))) < 8  # now it is: no colour, not dark red
    assert right_inside(decoded[1]).max() < 30
    (clip,) = clips
    with av.open(str(clip.path)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(frames) >= 50
    assert redness(right_inside(frames[10])) > 100
    for frame in frames[35:]:  # a few frames after the change: the encoder's keyframe interval
        assert abs(redness(right_inside(frame))) < 8 and right_inside(frame).max() < 30


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.floats(0.05, 0.95), st.floats(0.05, 0.95)), min_size=3, max_size=6
    ),
    size=st.sampled_from([(64, 48), (320, 240), (96, 62)]),
)
def test_a_mask_hides_every_pixel_its_polygon_touches(
    points: list[tuple[float, float]], size: tuple[int, int]
) -> None:
    width, height = size
    # A convex outline (a zone drawn on the page is a simple polygon; convex keeps "inside" one
    # meaning for OpenCV's fill and for the exact test below).
    hull = cv2.convexHull(np.array(points, np.float32)).reshape(-1, 2)
    if cv2.contourArea((hull * [width, height]).astype(np.float32)) < 1.0:
        return
    picture = i420_of(np.full((height, width, 3), 200, np.uint8))
    PrivacyMask(
        [NamedPolygon(name="m", points=[(float(x), float(y)) for x, y in hull])]
    ).apply_i420(picture)
    luma = planes(picture)[0]
    exact = (hull * [width, height]).astype(np.float32).reshape(-1, 1, 2)
    missed = [
        (x, y)
        for y in range(height)
        for x in range(width)
        # pixel x spans x - 0.5 to x + 0.5: within half a pixel of the outline, part of it is in
        if cv2.pointPolygonTest(exact, (float(x), float(y)), True) >= -0.5 and luma[y, x] > 20
    ]
    assert missed == []


def test_a_mask_leaves_what_it_does_not_cover() -> None:
    picture = i420_of(np.full((48, 64, 3), 200, np.uint8))
    PrivacyMask([LEFT]).apply_i420(picture)
    luma = planes(picture)[0]
    assert luma[:, :24].max() < 20 and luma[:, 30:].min() > 150


@settings(max_examples=60, deadline=None)
@given(
    corners=st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)), min_size=3, max_size=6),
    size=st.sampled_from([(64, 48), (96, 62), (320, 240)]),
    seed=st.integers(0, 2**16),
)
def test_a_chroma_sample_is_hidden_where_any_of_its_pixels_is_and_nothing_else_changes(
    corners: list[tuple[float, float]], size: tuple[int, int], seed: int
) -> None:
    # Only the area around the mask is written (issue 31): wherever the mask is, at an edge or
    # a corner of the picture, every plane is hidden as far as it reaches and no further.
    width, height = size
    hull = cv2.convexHull(np.array(corners, np.float32)).reshape(-1, 2)
    if len(hull) < 3 or cv2.contourArea((hull * [width, height]).astype(np.float32)) < 1.0:
        return
    rng = np.random.default_rng(seed)
    picture = rng.integers(40, 256, (height * 3 // 2, width), np.uint8)  # never black already
    chroma_rows = slice(height, None)
    picture[chroma_rows] = np.where(picture[chroma_rows] < 148, 20, 240)  # never neutral already
    before = picture.copy()
    PrivacyMask(
        [NamedPolygon(name="m", points=[(float(x), float(y)) for x, y in hull])]
    ).apply_i420(picture)
    y, u, v = planes(picture)
    y0, u0, v0 = planes(before)
    hidden = y != y0
    assert hidden.any() and (y[hidden] == 16).all()
    touched = hidden.reshape(height // 2, 2, width // 2, 2).any(axis=(1, 3))
    for plane, was in ((u, u0), (v, v0)):
        assert (plane[touched] == 128).all()
        assert np.array_equal(plane[~touched], was[~touched])


def test_a_mask_on_rows_padded_to_a_stride_hides_the_same_and_leaves_the_padding() -> None:
    # picamera2 pads each row to its stride; the mask is of the picture, not of the padding.
    width, height, stride = 64, 48, 80
    rng = np.random.default_rng(7)
    padded = rng.integers(40, 256, (height * 3 // 2, stride), np.uint8)
    mask = PrivacyMask([NamedPolygon(name="r", points=[(0.5, 0.2), (1.0, 0.2), (1.0, 0.9)])])
    alone = packed(padded, width).copy()
    before = padded.copy()
    mask.apply_i420(padded, width)
    mask.apply_i420(alone)
    assert np.array_equal(packed(padded, width), alone)
    changed = int((alone != packed(before, width)).sum())
    assert changed > 0
    assert int((padded != before).sum()) == changed  # not a byte of the padding
