"""The unit that flows from a camera source to everything downstream, and its picture format.

The main picture travels as planar YUV 4:2:0 (I420) in one uint8 array of `height * 3 // 2` rows:
the Y plane (`height` rows of `width`), then U and V (`height // 2` rows of `width // 2` each,
two to a row). That is what decoders, picamera2 and libx264 work in, so a frame reaches the
encoder with no colour conversion; analysis uses the Y plane. BGR is made only on demand
(`Frame.bgr`, a snapshot), where something needs a picture to show.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Black in video-range YUV, as libx264 and a BGR to I420 conversion of black give it.
BLACK_Y, NEUTRAL_CHROMA = 16, 128


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame.

    `t` is the source's own monotonic clock in seconds (frame time, never the host clock), so a
    simulation can run faster than real time and stay deterministic. `wall` is the wall-clock time
    (Unix seconds) the frame stands for. `main` is the full-resolution I420 picture for recording;
    `lores` is the small luma (Y) image for analysis, like picamera2's lores stream.
    `button`: the doorbell button was pressed during this frame. Only a scripted scene sets it (its
    visitor rings); a real doorbell's button is on GPIO (device.runtime.button).
    """

    seq: int
    t: float
    wall: float
    main: np.ndarray
    lores: np.ndarray
    button: bool = False

    @property
    def width(self) -> int:
        return int(self.main.shape[1])

    @property
    def height(self) -> int:
        return int(self.main.shape[0]) * 2 // 3

    def bgr(self) -> np.ndarray:
        """The main picture as a new BGR image (a conversion: only where one is shown)."""
        return bgr_of(self.main)


def i420_of(bgr: np.ndarray) -> np.ndarray:
    """An I420 picture of a BGR image (even width and height), one conversion."""
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)


def bgr_of(i420: np.ndarray) -> np.ndarray:
    """A new BGR image of an I420 picture."""
    return cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)


def planes(yuv: np.ndarray, width: int | None = None) -> tuple[np.ndarray, ...]:
    """Views of the Y, U and V planes of an I420 buffer, written through in place.

    `width`: the picture's width when rows are padded beyond it (picamera2 pads each row to its
    stride, the buffer's width; the chroma rows are half that stride)."""
    stride = yuv.shape[1]
    width = stride if width is None else width
    height = yuv.shape[0] * 2 // 3
    assert yuv.flags.c_contiguous, "an I420 buffer is one block"  # else views would be copies
    flat = yuv.reshape(-1)
    luma, chroma = height * stride, (height // 2) * (stride // 2)
    u = flat[luma : luma + chroma].reshape(height // 2, stride // 2)
    v = flat[luma + chroma : luma + 2 * chroma].reshape(height // 2, stride // 2)
    return yuv[:height, :width], u[:, : width // 2], v[:, : width // 2]


def lores_of(yuv: np.ndarray, size: tuple[int, int], width: int | None = None) -> np.ndarray:
    """The analysis image: the Y plane scaled down to `size` (width, height), no colour work.

    An area average, as a camera's lores stream is. By a whole factor OpenCV's area resize is a
    plain box filter; by any other (768x576 to 320x240 is 2.4) it costs five times as much, so
    there the box filter goes to the nearest whole factor and a linear resize does the rest
    (0.1 ms instead of 0.65 ms a frame at 768x576; on the rendered porch scene within a level
    of the exact area average)."""
    luma = planes(yuv, width)[0]
    (height, full_width), (lores_w, lores_h) = luma.shape, size
    kx, ky = full_width // lores_w, height // lores_h
    if (full_width % lores_w == 0 and height % lores_h == 0) or min(kx, ky) < 2:
        return cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    boxed = cv2.resize(luma, (full_width // kx, height // ky), interpolation=cv2.INTER_AREA)
    return cv2.resize(boxed, size, interpolation=cv2.INTER_LINEAR)


def black_out(yuv: np.ndarray) -> np.ndarray:
    """Make a whole I420 buffer black, in place."""
    height = yuv.shape[0] * 2 // 3
    yuv[:height] = BLACK_Y
    yuv[height:] = NEUTRAL_CHROMA
    return yuv


def packed(yuv: np.ndarray, width: int) -> np.ndarray:
    """An I420 buffer whose rows are padded beyond `width` (picamera2's stride), as one without
    padding: the same buffer when there is none, else one copy."""
    if yuv.shape[1] == width:
        return yuv
    y, u, v = planes(yuv, width)
    return np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)]).reshape(-1, width)
