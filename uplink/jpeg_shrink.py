"""Fit a JPEG under a byte limit (AWS IoT refuses payloads over 128 KB) by re-encoding it."""

from __future__ import annotations

import cv2
import numpy as np

QUALITIES = (80, 65, 50, 35)


def shrink_jpeg(jpeg: bytes, max_bytes: int, picture: np.ndarray | None = None) -> bytes | None:
    """The JPEG itself if it fits; else a re-encoded one (lower quality, then smaller) that
    fits; None if it cannot be decoded or nothing fits. `picture`, the image the JPEG shows, spares
    decoding it (at 720p, 2.7 MB more at the moment of an alert)."""
    if len(jpeg) <= max_bytes:
        return jpeg
    image = (
        picture
        if picture is not None
        else cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    )
    if image is None:
        return None
    scale = 1.0
    while min(image.shape[:2]) * scale >= 16:
        h, w = image.shape[:2]
        resized = image
        if scale < 1.0:
            size = (max(1, int(w * scale)), max(1, int(h * scale)))
            resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        for quality in QUALITIES:
            ok, data = cv2.imencode(".jpg", resized, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok and len(data) <= max_bytes:
                return data.tobytes()
        scale *= 0.7
    return None
