"""Making bystanders' faces unrecognisable in copies of footage that leave the device: every
frame of a clip is decoded, faces are found at the clip's own resolution, each face's box
(enlarged) is filled with one flat colour in its frame and in the frames around it (so a face
the detector misses for a frame or two between hits is still covered), and the frames are
encoded again (H.264). A snapshot (JPEG) is done the same way. The owner's clip stays as it was.

A fill, not a blur: a blurred face can be brought back or matched; a box of one colour keeps
nothing of it. Runs in the share worker on one thread (FaceDetector), never on the camera's path.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from doorbell.uplink.requests.face_model import FaceBox, FaceDetector, FaceModelMissing

METHOD = "faces: boxes filled with one colour"
HOLD_FRAMES = 3  # a face's box covers this many frames before and after each frame it is found in
GROW = 0.35  # each side of a face's box grows by this share of its size (hair, ears, a turn)
MIN_DETECTIONS_PER_SECOND = 10.0  # frames detected on; those between are covered by the hold


class RedactionError(Exception):
    """Footage that must be redacted could not be; it must not leave as recorded."""


@dataclass(frozen=True)
class Redacted:
    frames: int
    frames_with_faces: int


Box = tuple[int, int, int, int]


def grown(face: FaceBox, width: int, height: int) -> Box:
    dx, dy = (face.x1 - face.x0) * GROW, (face.y1 - face.y0) * GROW
    return (
        max(0, int(face.x0 - dx)),
        max(0, int(face.y0 - dy)),
        min(width, int(np.ceil(face.x1 + dx))),
        min(height, int(np.ceil(face.y1 + dy))),
    )


def fill(rgb: np.ndarray, boxes: list[Box]) -> None:
    """Each box in one colour (its own mean): irreversible, and less jarring than black."""
    for x0, y0, x1, y1 in boxes:
        if x1 > x0 and y1 > y0:
            region = rgb[y0:y1, x0:x1]
            region[:] = region.reshape(-1, 3).mean(axis=0).astype(np.uint8)


class Redactor:
    """Loads the face model on first use (a device that never shares never loads it)."""

    def __init__(self, model_path: Path | None = None) -> None:
        self.model_path = model_path
        self._detector: FaceDetector | None = None

    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            try:
                self._detector = FaceDetector(self.model_path)
            except FaceModelMissing as exc:
                raise RedactionError(f"faces cannot be redacted: {exc}") from None
        return self._detector

    @property
    def model_sha256(self) -> str:
        return self.detector.sha256

    def check(self) -> None:
        """Raises RedactionError now, rather than halfway through a share."""
        _ = self.detector

    def faces(self, rgb: np.ndarray) -> list[Box]:
        height, width = rgb.shape[:2]
        return [grown(f, width, height) for f in self.detector.detect(rgb)]

    def image(self, source: Path, target: Path) -> int:
        """A JPEG snapshot, its faces filled; the number of faces."""
        bgr = cv2.imdecode(np.fromfile(source, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise RedactionError(f"{source.name} is not a picture that can be decoded")
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        boxes = self.faces(rgb)
        fill(rgb, boxes)
        ok, data = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise RedactionError(f"{source.name} could not be encoded again")
        target.write_bytes(data.tobytes())
        return len(boxes)

    def clip(self, source: Path, target: Path) -> Redacted:
        """An H.264 MP4 with every face filled, same size and frame rate as `source`."""
        try:
            return self._clip(source, target)
        except (av.FFmpegError, ValueError) as exc:
            raise RedactionError(f"{source.name} could not be redacted: {exc}") from None

    def _clip(self, source: Path, target: Path) -> Redacted:
        self.check()
        with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
            video: Any = inp.streams.video[0]
            video.thread_count = 1
            rate = video.average_rate or video.guessed_rate or Fraction(10)
            stream: Any = out.add_stream("libx264", rate=Fraction(rate).limit_denominator(1001))
            stream.width, stream.height = video.codec_context.width, video.codec_context.height
            stream.pix_fmt = "yuv420p"
            stream.thread_count = 1
            stream.options = {"preset": "veryfast", "crf": "23"}
            every = max(1, int(float(rate) // MIN_DETECTIONS_PER_SECOND))
            pending: collections.deque[tuple[np.ndarray, list[Box]]] = collections.deque()
            recent: collections.deque[list[Box]] = collections.deque(maxlen=HOLD_FRAMES + every)
            frames = with_faces = 0

            def emit(rgb: np.ndarray, boxes: list[Box]) -> None:
                nonlocal frames, with_faces
                fill(rgb, boxes)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = frames
                for packet in stream.encode(frame):
                    out.mux(packet)
                frames += 1
                with_faces += bool(boxes)

            for index, decoded in enumerate(inp.decode(video)):
                rgb = decoded.to_ndarray(format="rgb24")
                found = self.faces(rgb) if index % every == 0 else []
                # found now: also covers the frames still held back, and the next ones (recent)
                for _, boxes in pending:
                    boxes.extend(found)
                boxes = [b for seen in recent for b in seen] + found
                recent.append(found)
                pending.append((rgb, boxes))
                if len(pending) > HOLD_FRAMES + every:
                    emit(*pending.popleft())
            while pending:
                emit(*pending.popleft())
            for packet in stream.encode(None):
                out.mux(packet)
        if frames == 0:
            raise RedactionError(f"{source.name} has no frames to redact")
        return Redacted(frames, with_faces)


def lower_priority() -> None:
    """The calling thread yields the CPU to the camera (Linux: niceness is per thread)."""
    try:
        import threading

        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: it still runs, just not nicer
        pass
