"""A picture as JPEG stores it: full-range YCbCr 4:2:0 planes, made once from a frame's I420.

JPEG (JFIF) is itself YCbCr with 4:2:0 chroma, so an I420 frame needs no conversion to BGR and
back on its way to a JPEG: only its levels are stretched from video range (the 16-235 luma and
16-240 chroma that decoders, picamera2 and OpenCV's BGR to I420 give) to JPEG's full 0-255.
libjpeg-turbo (through simplejpeg, picamera2's own JPEG library) compresses the planes as they are.
"""

from __future__ import annotations

import cv2
import numpy as np
import simplejpeg

from doorbell.device.recording.masks import PrivacyMask
from doorbell.device.runtime.frame import planes
from doorbell.uplink.jpeg_shrink import scaled

LEVELS = np.arange(256, dtype=np.float64)
# Lookup tables from video-range levels to full range, clipped to 0-255.
FULL_LUMA = np.clip(np.rint((LEVELS - 16) * 255 / 219), 0, 255).astype(np.uint8)
FULL_CHROMA = np.clip(np.rint((LEVELS - 128) * 255 / 224 + 128), 0, 255).astype(np.uint8)


class JpegPicture:
    """One frame's picture, masks burned in, ready to be a JPEG at any quality and size.

    Kept beside the JPEG it first made, so a smaller one (a thumbnail, a snapshot over the broker's
    size limit) is made without decoding. Half the size of the BGR image it replaces."""

    def __init__(self, yuv: np.ndarray, mask: PrivacyMask) -> None:
        """`yuv`: a packed I420 picture, left as it was."""
        self._yuv = mask.apply_i420(yuv.copy())
        height = yuv.shape[0] * 2 // 3
        cv2.LUT(self._yuv[:height], FULL_LUMA, dst=self._yuv[:height])
        cv2.LUT(self._yuv[height:], FULL_CHROMA, dst=self._yuv[height:])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self._yuv.shape[1], self._yuv.shape[0] * 2 // 3

    def jpeg(self, quality: int, width: int | None = None) -> bytes:
        """A JPEG of the picture, scaled to `width` pixels wide (keeping its shape) if given."""
        y, u, v = planes(self._yuv)
        if width is not None and width != y.shape[1]:
            width, height = scaled(self.size, width)
            y = cv2.resize(y, (width, height), interpolation=cv2.INTER_AREA)
            # libjpeg's 4:2:0 has a chroma sample for each started pair of rows and columns.
            chroma = ((width + 1) // 2, (height + 1) // 2)
            u = cv2.resize(u, chroma, interpolation=cv2.INTER_AREA)
            v = cv2.resize(v, chroma, interpolation=cv2.INTER_AREA)
        return bytes(simplejpeg.encode_jpeg_yuv_planes(y, u, v, quality=quality))
