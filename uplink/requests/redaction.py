"""Making bystanders' faces unrecognisable in copies of footage that leave the device: every
frame of a clip is decoded, faces are found at the clip's own resolution, each face's box
(enlarged) is filled with one flat colour in its frame and in the frames around it (so a face
the detector misses for a frame or two between hits is still covered), and the frames are
encoded again (H.264). A snapshot (JPEG) is done the same way. The owner's clip stays as it was.

A fill, not a blur: a blurred face can be brought back or matched; a box of one colour keeps
nothing of it. A share runs it in a worker process of its own (redaction_worker.py) on one
thread, never on the camera's path; `clips export --redact` runs it in the command's process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import cv2
import numpy as np

from doorbell.uplink.requests.face_model import FaceBox, FaceDetector, FaceModelMissing
from doorbell.uplink.requests.redaction_plan import Box, covers, faceless_heads


class FileRedactor(Protocol):
    """What a share needs: check first, redact files (source -> target), let go after."""

    def check(self) -> None: ...
    def redact_files(self, files: list[tuple[Path, Path]]) -> None: ...
    def release(self) -> None: ...


class PersonFinder(Protocol):
    """People in an RGB frame, as pixel boxes (x0, y0, x1, y1): whoever's face may not be found
    (turned away, far off) still has a head at the top of their box."""

    def people(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]: ...


# Built in the worker once it runs at a lower priority; None: no people found on this device
# (no model), faces only.
PeopleFactory = Callable[[], PersonFinder | None]

METHOD = "faces: boxes filled with one colour"
HOLD_FRAMES = 3  # a face's box covers this many frames before and after each frame it is found in
GROW = 0.35  # each side of a face's box grows by this share of its size (hair, ears, a turn)
MIN_DETECTIONS_PER_SECOND = 10.0  # frames detected on; those between are covered by the hold
# People are looked for in every `PEOPLE_EVERY`-th frame looked at for faces (~15 ms each at
# 640x480 here, against the face model's ~22 ms); their heads are tracked between looks.
PEOPLE_EVERY = 2


class RedactionError(Exception):
    """Footage that must be redacted could not be; it must not leave as recorded."""


class ShareStopped(Exception):
    """The device stopped while a share's footage was being redacted: nothing failed, the share
    stays as it is (`sharing`) and the next start retries it."""


@dataclass(frozen=True)
class Redacted:
    frames: int
    frames_with_faces: int  # frames with something filled: a face, or a head with no face found


def grown(face: FaceBox, width: int, height: int) -> Box:
    dx, dy = (face.x1 - face.x0) * GROW, (face.y1 - face.y0) * GROW
    return (
        max(0, int(face.x0 - dx)),
        max(0, int(face.y0 - dy)),
        min(width, int(np.ceil(face.x1 + dx))),
        min(height, int(np.ceil(face.y1 + dy))),
    )


def fill(rgb: np.ndarray, boxes: list[Box]) -> None:
    """The boxes in one colour each, irreversible, and less jarring than black: each group of
    overlapping boxes as one area, in its own mean colour (filled one box after the other, an
    overlap would leave the edge of one box drawn inside the other)."""
    if not boxes:
        return
    mask = np.zeros(rgb.shape[:2], np.uint8)
    for x0, y0, x1, y1 in boxes:
        mask[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = 1
    count, labels = cv2.connectedComponents(mask, connectivity=4)
    inside = labels > 0
    areas = labels[inside]
    pixels = rgb[inside].astype(np.float64)
    sizes = np.maximum(np.bincount(areas, minlength=count), 1)
    means = np.stack(
        [np.bincount(areas, weights=pixels[:, c], minlength=count) / sizes for c in range(3)],
        axis=1,
    )
    rgb[inside] = means[areas].astype(np.uint8)


class Redactor:
    """Loads the face model on first use (a device that never shares never loads it). With
    `people`, the heads of people whose faces are not found are filled too."""

    def __init__(self, model_path: Path | None = None, people: PeopleFactory | None = None) -> None:
        self.model_path = model_path
        self._detector: FaceDetector | None = None
        self._people_factory = people
        self._people: PersonFinder | None = None

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

    @property
    def people(self) -> PersonFinder | None:
        if self._people is None and self._people_factory is not None:
            self._people = self._people_factory()
            self._people_factory = None  # built once, or known to be missing
        return self._people

    def release(self) -> None:
        """Lets go of the model (~50 MB); the next use loads it again."""
        self._detector = None

    def redact_files(self, files: list[tuple[Path, Path]]) -> None:
        """Each (source, target): a JPEG snapshot by its name, anything else as a clip."""
        for source, target in files:
            if source.suffix.lower() in (".jpg", ".jpeg"):
                self.image(source, target)
            else:
                self.clip(source, target)

    def faces(self, rgb: np.ndarray) -> list[Box]:
        height, width = rgb.shape[:2]
        return [grown(f, width, height) for f in self.detector.detect(rgb)]

    def heads(self, rgb: np.ndarray, faces: list[Box]) -> list[Box]:
        """The heads of the people in `rgb` in which none of `faces` was found."""
        finder = self.people
        if finder is None:
            return []
        height, width = rgb.shape[:2]
        return faceless_heads(finder.people(rgb), faces, width, height)

    def image(self, source: Path, target: Path) -> int:
        """A JPEG snapshot, its faces filled; the number of faces."""
        bgr = cv2.imdecode(np.fromfile(source, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise RedactionError(f"{source.name} is not a picture that can be decoded")
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        boxes = self.faces(rgb)
        boxes += self.heads(rgb, boxes)
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
        """Two passes over the clip: the first looks (faces, people) and keeps only boxes, the
        second fills and encodes; no frame is held between them (decoding twice costs less than
        holding a second of frames, and lets a head be tracked between two looks)."""
        self.check()
        faces_at: dict[int, list[Box]] = {}
        heads_at: dict[int, list[Box]] = {}
        with av.open(str(source)) as inp:
            video: Any = inp.streams.video[0]
            video.thread_count = 1
            rate = video.average_rate or video.guessed_rate or Fraction(10)
            every = max(1, int(float(rate) // MIN_DETECTIONS_PER_SECOND))
            frames = 0
            for index, decoded in enumerate(inp.decode(video)):
                frames += 1
                if index % every:
                    continue
                rgb = decoded.to_ndarray(format="rgb24")
                faces_at[index] = self.faces(rgb)
                if index % (every * PEOPLE_EVERY) == 0 and self.people is not None:
                    heads_at[index] = self.heads(rgb, faces_at[index])
        if frames == 0:
            raise RedactionError(f"{source.name} has no frames to redact")
        plan = covers(frames, faces_at, heads_at, HOLD_FRAMES + every, HOLD_FRAMES)
        with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
            video = inp.streams.video[0]
            video.thread_count = 1
            stream: Any = out.add_stream("libx264", rate=Fraction(rate).limit_denominator(1001))
            stream.width, stream.height = video.codec_context.width, video.codec_context.height
            stream.pix_fmt = "yuv420p"
            stream.thread_count = 1
            # zerolatency: no lookahead or B-frames, 20 MB less peak RSS for a bigger file
            stream.options = {"preset": "veryfast", "crf": "23", "tune": "zerolatency"}
            written = with_faces = 0
            for index, decoded in enumerate(inp.decode(video)):
                if index >= frames:  # the same file decodes the same twice; never past the plan
                    break
                rgb = decoded.to_ndarray(format="rgb24")
                fill(rgb, plan[index])
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = index
                for packet in stream.encode(frame):
                    out.mux(packet)
                written += 1
                with_faces += bool(plan[index])
            for packet in stream.encode(None):
                out.mux(packet)
        if written != frames:
            raise RedactionError(f"{source.name} decoded to {written} frames, not {frames}")
        return Redacted(frames, with_faces)


def lower_priority() -> None:
    """The calling thread yields the CPU to the camera (Linux: niceness is per thread)."""
    try:
        import threading

        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: it still runs, just not nicer
        pass
