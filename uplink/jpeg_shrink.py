"""Fit a JPEG under a byte limit (AWS IoT refuses payloads over 128 KB) by re-encoding it."""

from __future__ import annotations

from typing import Protocol

import cv2
import simplejpeg

QUALITIES = (80, 65, 50, 35)
SMALLEST_SIDE = 16  # pixels: a picture smaller than this shows nothing worth sending


class Picture(Protocol):
    """The picture a JPEG shows, kept by whoever made the JPEG, so that a smaller JPEG of it
    needs no decoding (the device's `JpegPicture`)."""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        ...

    def jpeg(self, quality: int, width: int | None = None) -> bytes:
        """A JPEG at `quality`, scaled to `width` pixels wide if given."""
        ...


def scaled(size: tuple[int, int], width: int) -> tuple[int, int]:
    """(width, height) of a picture of `size` scaled to `width` pixels wide, keeping its shape."""
    return width, max(1, round(size[1] * width / size[0]))


class DecodedJpeg:
    """A `Picture` decoded from a JPEG, for a JPEG whose maker kept no picture."""

    def __init__(self, jpeg: bytes) -> None:
        """Raises ValueError if `jpeg` is not one."""
        self._image = simplejpeg.decode_jpeg(jpeg, colorspace="BGR")

    @property
    def size(self) -> tuple[int, int]:
        return self._image.shape[1], self._image.shape[0]

    def jpeg(self, quality: int, width: int | None = None) -> bytes:
        image = self._image
        if width is not None and width != image.shape[1]:
            image = cv2.resize(image, scaled(self.size, width), interpolation=cv2.INTER_AREA)
        return bytes(
            simplejpeg.encode_jpeg(image, quality, colorspace="BGR", colorsubsampling="420")
        )


def shrink_jpeg(jpeg: bytes, max_bytes: int, picture: Picture | None = None) -> bytes | None:
    """The JPEG itself if it fits; else a re-encoded one (lower quality, then smaller) that
    fits; None if it cannot be decoded or nothing fits. `picture`, what the JPEG shows, spares
    decoding it (at 720p, 2.7 MB more at the moment of an alert)."""
    if len(jpeg) <= max_bytes:
        return jpeg
    if picture is None:
        try:
            picture = DecodedJpeg(jpeg)
        except ValueError:
            return None
    width, height = picture.size
    scale = 1.0
    while min(width, height) * scale >= SMALLEST_SIDE:
        for quality in QUALITIES:
            data = picture.jpeg(quality, None if scale == 1.0 else max(1, int(width * scale)))
            if len(data) <= max_bytes:
                return data
        scale *= 0.7
    return None
