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

import contextlib
import ctypes
import gc
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import av
import numpy as np

from doorbell.uplink.requests.face_model import (
    FaceBox,
    FaceDetector,
    FaceModelMissing,
    model_problem,
)
from doorbell.uplink.requests.redaction_plan import Box, covers, faceless_heads

if TYPE_CHECKING:  # a module of its own: the face and fill passes never import it
    from doorbell.uplink.requests.person_pass import PersonPass


class FileRedactor(Protocol):
    """What a share needs: check first, redact files (source -> target), let go after; and what
    the person pass did, for the share's record. WorkerRedactor is one; the in-process Redactor
    is not (it keeps no record of its person pass: `clips export --redact` and the passes use
    it), and mypy refuses it where a FileRedactor is asked for."""

    def check(self) -> None: ...
    def redact_files(self, files: list[tuple[Path, Path]]) -> PersonPass:
        """What the person pass did, for the share's record."""
        ...

    def release(self) -> None: ...


class PersonFinder(Protocol):
    """People in an RGB frame, as pixel boxes (x0, y0, x1, y1): whoever's face may not be found
    (turned away, far off) still has a head at the top of their box."""

    def people(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]: ...


_T = TypeVar("_T")

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


@dataclass
class Looks:
    """What the look passes found in one file: boxes only, no frame (a clip's frames are decoded
    again to be filled)."""

    frames: int
    every: int  # faces are looked for in every `every`-th frame, people in every PEOPLE_EVERY-th
    width: int
    height: int
    faces_at: dict[int, list[Box]]
    people_at: dict[int, list[Box]] | None = field(default=None)  # None: people not looked for

    def heads_at(self) -> dict[int, list[Box]]:
        """The heads of the people looked at in whom no face was found, by frame."""
        if self.people_at is None:
            return {}
        return {
            index: faceless_heads(people, self.faces_at.get(index, []), self.width, self.height)
            for index, people in self.people_at.items()
            if index < self.frames  # a file decodes the same each time; never past the plan
        }


def give_back_memory() -> None:
    """A model let go of: its objects collected and the allocator's free pages returned to the
    system (glibc keeps them mapped otherwise: the person finder's 68 MB private fell to 50 MB
    after `del` and collection, to 31 MB after `malloc_trim`). A no-op off glibc."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl, macOS)
        ctypes.CDLL(None).malloc_trim(0)


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
    import cv2  # here: the face pass's process (redaction_stages.py) never needs it, 4 MB

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
    `people`, the heads of people whose faces are not found are filled too.

    The two models are never held at once (the worker's private peak is the larger of them, not
    their sum): people are looked for in every file first, the person finder is let go, then
    faces in every file, and the face model is let go before the frames are filled and encoded."""

    def __init__(self, model_path: Path | None = None, people: PeopleFactory | None = None) -> None:
        self.model_path = model_path
        self._detector: FaceDetector | None = None
        self._people_factory = people

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

    def check_without_loading(self) -> None:
        """As check(), the model not loaded (the person finder's pass is first, on its own)."""
        if self._detector is None:
            problem = model_problem(self.model_path)
            if problem is not None:
                raise RedactionError(f"faces cannot be redacted: {problem}")

    def release(self) -> None:
        """Lets go of the face model (~50 MB); the next use loads it again."""
        if self._detector is not None:
            self._detector = None
            give_back_memory()

    def redact_files(self, files: list[tuple[Path, Path]]) -> None:
        """Each (source, target): a JPEG snapshot by its name, anything else as a clip. Says
        nothing of its person pass: not a FileRedactor, a share uses WorkerRedactor."""
        self.write_files(files, self._look([source for source, _ in files]))

    def write_files(self, files: list[tuple[Path, Path]], looks: list[Looks]) -> None:
        """The files' frames filled as what the look passes found plans (in this process or,
        in the share worker, in the processes before this one: redaction_stages.py)."""
        for (source, target), found in zip(files, looks, strict=True):
            if _is_image(source):
                self._write_image(source, target, found)
            else:
                self._write_clip(source, target, found)

    def faces(self, rgb: np.ndarray) -> list[Box]:
        height, width = rgb.shape[:2]
        return [grown(f, width, height) for f in self.detector.detect(rgb)]

    def image(self, source: Path, target: Path) -> int:
        """A JPEG snapshot, its faces filled; the number of boxes filled."""
        return self._write_image(source, target, self._look([source])[0])

    def clip(self, source: Path, target: Path) -> Redacted:
        """An H.264 MP4 with every face filled, same size and frame rate as `source`."""
        return self._write_clip(source, target, self._look([source])[0])

    def _look(self, sources: list[Path]) -> list[Looks]:
        """People in every file, then (the person finder let go) faces in every file, then the
        face model let go: boxes kept, no frame, one model held at a time, none while the frames
        are filled and encoded. People first: run after the face pass, on the heap that pass
        left, the person finder's pass peaked 8 MB higher (87 against 79 MB private at 640x480)."""
        self.check_without_loading()  # the face model's problem first
        people_at = self._look_people(sources)
        looks = self.look_for_faces(sources)
        for found, people in zip(looks, people_at, strict=True):
            found.people_at = people
        self.release()
        return looks

    def _look_people(self, sources: list[Path]) -> list[dict[int, list[Box]] | None]:
        """People in each file (None: not looked for), with the face model let go first and the
        person finder after."""
        factory = self._people_factory
        if factory is None:
            return [None] * len(sources)
        self.release()
        finder = factory()
        if finder is None:  # no person model on this device: faces only, and not asked again
            self._people_factory = None
            return [None] * len(sources)
        people_at: list[dict[int, list[Box]] | None] = list(look_for_people(sources, finder))
        del finder
        give_back_memory()
        return people_at

    def look_for_faces(self, sources: list[Path]) -> list[Looks]:
        """Faces in every file (the face model loaded first, if it is not); no people."""
        self.check()
        return [_guarded(source, partial(self._look_faces, source)) for source in sources]

    def _look_faces(self, source: Path) -> Looks:
        if _is_image(source):
            rgb = _decode_image(source)
            height, width = rgb.shape[:2]
            return Looks(1, 1, width, height, {0: self.faces(rgb)})
        faces_at: dict[int, list[Box]] = {}
        with av.open(str(source)) as inp:
            video: Any = inp.streams.video[0]
            video.thread_count = 1
            every = _every(video)
            frames = width = height = 0
            for index, decoded in enumerate(inp.decode(video)):
                frames += 1
                if index % every:
                    continue
                rgb = decoded.to_ndarray(format="rgb24")
                height, width = rgb.shape[:2]
                faces_at[index] = self.faces(rgb)
        if frames == 0:
            raise RedactionError(f"{source.name} has no frames to redact")
        return Looks(frames, every, width, height, faces_at)

    def _write_image(self, source: Path, target: Path, found: Looks) -> int:
        import cv2

        rgb = _read_image(source)
        boxes = found.faces_at[0] + found.heads_at().get(0, [])
        fill(rgb, boxes)
        ok, data = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise RedactionError(f"{source.name} could not be encoded again")
        target.write_bytes(data.tobytes())
        return len(boxes)

    def _write_clip(self, source: Path, target: Path, found: Looks) -> Redacted:
        """The clip decoded again, its planned boxes filled, encoded: no frame is held between
        the passes (decoding again costs less than holding a second of frames, and lets a head
        be tracked between two looks)."""
        try:
            return _fill_clip(source, target, found)
        except (av.FFmpegError, ValueError) as exc:
            raise RedactionError(f"{source.name} could not be redacted: {exc}") from None


def look_for_people(sources: list[Path], finder: PersonFinder) -> list[dict[int, list[Box]]]:
    """The people in every PEOPLE_EVERY-th frame faces are looked for in, in each file."""
    return [_guarded(source, partial(_people_in, source, finder)) for source in sources]


def _guarded(source: Path, look: Callable[[], _T]) -> _T:
    try:
        return look()
    except (av.FFmpegError, ValueError) as exc:
        raise RedactionError(f"{source.name} could not be redacted: {exc}") from None


def _is_image(source: Path) -> bool:
    return source.suffix.lower() in (".jpg", ".jpeg")


def _read_image(source: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imdecode(np.fromfile(source, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise RedactionError(f"{source.name} is not a picture that can be decoded")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _decode_image(source: Path) -> np.ndarray:
    """A snapshot decoded by FFmpeg (PyAV), for the face pass: OpenCV, which `_read_image`
    needs, would be 4 MB more of that pass's peak (a share's snapshot is looked at after its
    clip, with the face model's memory at its highest). Its pixels may differ from OpenCV's by
    a level or two (another JPEG decoder); the boxes found are filled in OpenCV's own."""
    with av.open(str(source)) as inp:
        for decoded in inp.decode(video=0):
            return np.ascontiguousarray(decoded.to_ndarray(format="rgb24"))
    raise RedactionError(f"{source.name} is not a picture that can be decoded")


def _rate(video: Any) -> Fraction:
    return Fraction(video.average_rate or video.guessed_rate or Fraction(10))


def _every(video: Any) -> int:
    """Faces are looked for in every `every`-th frame of a clip."""
    return max(1, int(float(_rate(video)) // MIN_DETECTIONS_PER_SECOND))


def _people_in(source: Path, finder: PersonFinder) -> dict[int, list[Box]]:
    """People in every PEOPLE_EVERY-th frame faces are looked for in (~15 ms each at 640x480
    here, against the face model's ~22 ms); their heads are tracked between looks."""
    if _is_image(source):
        return {0: finder.people(_read_image(source))}
    people_at: dict[int, list[Box]] = {}
    with av.open(str(source)) as inp:
        video: Any = inp.streams.video[0]
        video.thread_count = 1
        step = _every(video) * PEOPLE_EVERY
        for index, decoded in enumerate(inp.decode(video)):
            if index % step == 0:
                people_at[index] = finder.people(decoded.to_ndarray(format="rgb24"))
    return people_at


def _fill_clip(source: Path, target: Path, found: Looks) -> Redacted:
    frames, every = found.frames, found.every
    plan = covers(frames, found.faces_at, found.heads_at(), HOLD_FRAMES + every, HOLD_FRAMES)
    with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
        video: Any = inp.streams.video[0]
        video.thread_count = 1
        rate = _rate(video)
        stream: Any = out.add_stream("libx264", rate=rate.limit_denominator(1001))
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
