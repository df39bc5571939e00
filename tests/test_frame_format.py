"""Frames travel as I420 from the source to the encoder: what a clip holds is what the camera
gave, colours included; masks black out all three planes; the lores is the Y plane scaled; a
snapshot's JPEG, made from the planes with no BGR on the way, shows what the clip shows."""

from __future__ import annotations

import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from doorbell.config.base import NamedPolygon
from doorbell.config.camera import CameraConfig
from doorbell.config.privacy import PrivacyConfig
from doorbell.config.record import RecordConfig, StorageConfig
from doorbell.device.recording.clip import ClipInfo
from doorbell.device.recording.jpeg_picture import JpegPicture
from doorbell.device.recording.masks import PrivacyMask
from doorbell.device.recording.mp4_writer import Mp4Writer
from doorbell.device.recording.recorder import Recorder
from doorbell.device.runtime.frame import i420_of, lores_of
from doorbell.device.sources import open_source

FPS = 15.0
# Saturated patches: a swapped or shifted chroma plane shows at once.
PATCHES = {
    (0, 0, 255): (20, 20),
    (0, 255, 0): (120, 20),
    (255, 0, 0): (220, 20),
    (0, 220, 220): (20, 130),
}


def coloured_video(path: Path, frames: int) -> list[np.ndarray]:
    pictures = []
    with Mp4Writer(path, FPS, (320, 240), preset="ultrafast", bitrate=4_000_000) as writer:
        for i in range(frames):
            image = np.full((240, 320, 3), 90, np.uint8)
            for colour, (x, y) in PATCHES.items():
                image[y : y + 80, x + i : x + i + 80] = colour  # moving, so frames differ
            writer.write(image)
            pictures.append(image)
    return pictures


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def test_a_recorded_file_decodes_to_the_frames_the_source_gave_colours_included(
    tmp_path: Path,
) -> None:
    pictures = coloured_video(tmp_path / "in.mp4", 45)
    source = open_source(CameraConfig(source=f"file:{tmp_path / 'in.mp4'}"), start_wall=time.time())
    source.open()
    clips: list[ClipInfo] = []
    recorder = Recorder(
        RecordConfig(mode="continuous"),
        StorageConfig(),
        PrivacyConfig(),
        tmp_path / "data",
        FPS,
        (320, 240),
        clips.append,
    )
    recorder.start()
    given = []
    while (frame := source.read()) is not None:
        assert frame.main.shape == (360, 320)  # I420 from the decoder, no BGR on the way
        given.append(frame.bgr())
        recorder.push(frame)
    recorder.close()
    (clip,) = clips
    got = decode(clip.path)
    assert len(got) == len(given) == 45
    for source_frame, clip_frame in zip(given, got, strict=True):
        # Each channel on its own: within the encoder's tolerance, not just the luma.
        assert np.abs(source_frame.astype(int) - clip_frame.astype(int)).mean(axis=(0, 1)).max() < 6
    for i in (0, 44):  # and the colours are the ones in the file, where they were
        for colour, (x, y) in PATCHES.items():
            centre = got[i][y + 30 : y + 50, x + i + 30 : x + i + 50].reshape(-1, 3).mean(axis=0)
            assert np.abs(centre - np.array(colour)).max() < 30, (i, colour, centre)
    assert np.abs(got[0].astype(int) - pictures[0].astype(int)).mean() < 6


def test_a_mask_blacks_out_luma_and_both_chroma_planes() -> None:
    picture = np.zeros((240, 320, 3), np.uint8)
    picture[:] = (40, 200, 250)  # strongly coloured: chroma far from neutral
    yuv = i420_of(picture)
    corner = [(0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5)]
    mask = PrivacyMask([NamedPolygon(name="n", points=corner)])
    mask.apply_i420(yuv)
    shown = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)
    assert shown[:118, :158].max() <= 2  # black, not a dark colour
    assert np.abs(shown[130:, 170:].astype(int) - picture[130:, 170:]).max() <= 3  # untouched


def test_the_lores_is_the_y_plane_area_averaged() -> None:
    # Pixel noise, the worst case for a resize: sampling instead of averaging shows at once
    # (a plain linear resize is 15.7 levels off here; 0.9 on the rendered porch scene).
    picture = np.random.default_rng(1).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    yuv = i420_of(picture[:576, :768])  # 2.4 times the lores: box to 2x, then linear
    exact = cv2.resize(yuv[:576], (320, 240), interpolation=cv2.INTER_AREA)
    assert np.abs(lores_of(yuv, (320, 240)).astype(int) - exact).mean() < 8
    whole = i420_of(picture)  # whole factors (4 and 3): exactly the area average
    exact = cv2.resize(whole[:720], (320, 240), interpolation=cv2.INTER_AREA)
    assert np.array_equal(lores_of(whole, (320, 240)), exact)


def still_picture() -> np.ndarray:
    """Saturated patches, black and white on mid grey: the ends of every level's range."""
    picture = np.full((240, 320, 3), 90, np.uint8)
    for colour, (x, y) in PATCHES.items():
        picture[y : y + 80, x : x + 80] = colour
    picture[130:210, 120:200], picture[130:210, 220:300] = 0, 255
    return picture


def test_a_snapshot_jpeg_made_from_i420_shows_the_source_colours_and_levels() -> None:
    picture = still_picture()
    yuv = i420_of(picture)
    given = yuv.copy()
    jpeg = JpegPicture(yuv, PrivacyMask([])).jpeg(95)
    # Decoded by OpenCV's own JPEG reader, a different path from the one that made it.
    shown = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    expected = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)  # what the recording shows
    for x, y in [*PATCHES.values(), (120, 130), (220, 130)]:
        centre = (slice(y + 25, y + 55), slice(x + 25, x + 55))
        # Black stays black and white white: JPEG's levels are full range, the frame's video
        # range; left unstretched, black shows as dark grey and saturated colours fade.
        assert np.abs(shown[centre].astype(int) - expected[centre]).max() <= 4, (x, y)
    assert np.array_equal(yuv, given)  # the frame itself is left as it was


@pytest.mark.parametrize("width", [160, 33, 7])
def test_a_smaller_jpeg_keeps_the_picture_shape_at_any_width(width: int) -> None:
    picture = JpegPicture(i420_of(still_picture()), PrivacyMask([]))
    shown = cv2.imdecode(np.frombuffer(picture.jpeg(80, width), np.uint8), cv2.IMREAD_COLOR)
    assert shown.shape == (round(240 * width / 320), width, 3)
    assert picture.size == (320, 240)
