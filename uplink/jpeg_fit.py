"""Make a JPEG fit a payload limit (AWS IoT refuses more than 128 KB) or say it cannot."""

from __future__ import annotations

import cv2
import numpy as np


def fit_jpeg(jpeg: bytes, max_bytes: int) -> bytes | None:
    """The picture as is when small enough, else re-encoded smaller; None when nothing fits."""
    if len(jpeg) <= max_bytes:
        return jpeg
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    scale = 1.0
    for quality in (80, 70, 60, 50, 40, 30, 30, 30, 30):
        if quality == 30:
            scale *= 0.7
        h, w = image.shape[:2]
        size = (max(16, int(w * scale)), max(16, int(h * scale)))
        small = image if scale == 1.0 else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(buf) <= max_bytes:
            return bytes(buf)
    return None
