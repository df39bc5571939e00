"""The floor under the device's peak RSS: what its libraries cost before any work of its own.

`against_motion.py` runs this as a child and measures its peak (issue 20), one of two ways:
- `imports`: numpy, OpenCV, PyAV, simplejpeg, pydantic (one model built, which loads most of
  it), PyYAML, click, sqlite3 and paho-mqtt imported; nothing run;
- `media VIDEO`: the same, plus every frame of VIDEO decoded by the device's own `PyAvCapture`
  and encoded by its own `StreamEncoder` with the default recording settings, on one thread:
  the pictures' path without threads, queues, detector, broker or storage (a masked run's floor);
- `decode VIDEO`: the same without the encoder, the decoder on a thread of its own as the
  device's capture thread runs it (a pass-through run's floor; issue 31);
- `device-imports`, `device-decode VIDEO`: `imports` and `decode` with the device's own
  modules imported as well, as `doorbell run` imports them (`benchmarks/memory_verdict.py`).
What the device peaks at beyond these is the rest of the device: its own modules, threads,
frames in flight, snapshots, clips and the broker link.

`attribute VIDEO` prints the floor itself, taken apart (issue 31, round 5): the private memory
(RssAnon) after each library is imported in turn, then the device's own modules, then VIDEO
decoded on a thread, each split by kind (`benchmarks/private_memory.py`: the libraries' own
relocated and written pages, Python's object arenas, malloc's blocks), and the libraries' pages
by file. Which library is charged for a module they share (ssl, hashlib) depends on the order.

Usage: python benchmarks/library_floor.py imports | media VIDEO | decode VIDEO | attribute VIDEO
       | device-imports | device-decode VIDEO
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.private_memory import Kinds

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# What the device imports, each for its size, in the order `attribute` charges them.
LIBRARIES = ["numpy", "av", "cv2", "simplejpeg", "pydantic", "a pydantic model built"]
LIBRARIES += ["yaml", "click", "sqlite3", "ssl", "paho.mqtt.client"]
OWN = "doorbell.device.cli.run"  # `doorbell run`: every module the device imports at start


def import_library(name: str) -> None:
    if name == "a pydantic model built":  # most of pydantic is imported when a model is built
        import pydantic

        class _Built(pydantic.BaseModel):
            value: int = 0

        _Built(value=1)
    else:
        importlib.import_module(name)


def media(video: str) -> int:
    """Decode and encode every frame of `video`; the number of frames."""
    from doorbell.config.record import RecordConfig
    from doorbell.device.recording.stream_encoder import StreamEncoder
    from doorbell.device.sources.captures import PyAvCapture

    capture = PyAvCapture(video, None)
    encoder = StreamEncoder.for_record(RecordConfig(), capture.fps, (capture.width, capture.height))
    frames = 0
    while (yuv := capture.read()) is not None:
        encoder.feed(yuv, frames / capture.fps)
        frames += 1
    encoder.close()
    capture.release()
    return frames


def decode(video: str) -> int:
    """Decode every frame of `video` on a thread of its own, nothing else; the number of frames.
    (On a thread: its allocations go to another malloc arena than the main thread's, ~2 MB
    more at 768x576 than decoding on the main thread.)"""
    import threading

    from doorbell.device.sources.captures import PyAvCapture

    frames = [0]

    def run() -> None:
        capture = PyAvCapture(video, None)
        while capture.read() is not None:
            frames[0] += 1
        capture.release()

    thread = threading.Thread(target=run, name="capture")
    thread.start()
    thread.join()
    return frames[0]


def attribute(video: str) -> None:
    """The floor taken apart: what each library, the device's modules and decoding add."""
    from benchmarks.private_memory import HEADER, measure

    print(f"MB | {HEADER}")
    before = measure()
    print(f"python and this probe | {before.row()}")
    steps = [(name, lambda name=name: import_library(name)) for name in LIBRARIES]
    steps.append((f"the device's own modules ({OWN})", lambda: import_library(OWN)))
    for label, step in steps:
        modules = len(sys.modules)
        step()
        now = measure()
        print(f"+ {label} ({len(sys.modules) - modules} modules) | {now.minus(before)}")
        before = now
    print(f"all imported | {before.row()}")
    decoding, peak = decoded(video)
    print(f"+ {Path(video).name} decoded on a thread, frame 100 | {decoding.minus(before)}")
    print(f"decoding | {decoding.row()} (polled peak while decoding: {peak:.1f})")
    _by_file(decoding.by_file)


def decoded(video: str) -> tuple[Kinds, float]:
    """The kinds at the 100th frame of `video` decoded by the device's capture on a thread
    (the frame held, as the device's pipeline holds its latest), and the peak RssAnon
    polled every 5 ms over the whole file."""
    from benchmarks.private_memory import measure
    from doorbell.device.sources.captures import PyAvCapture

    peak, done, at_100 = [0.0], threading.Event(), []

    def poll() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_anon())
            time.sleep(0.005)

    def run() -> None:
        capture = PyAvCapture(video, None)
        frames = 0
        while (frame := capture.read()) is not None:
            frames += 1
            if frames == 100:
                at_100.append(measure())
            del frame
        capture.release()

    threading.Thread(target=poll, daemon=True).start()
    thread = threading.Thread(target=run, name="capture")
    thread.start()
    thread.join()
    done.set()
    return at_100[0], peak[0]


def _rss_anon() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _by_file(by_file: dict[str, float]) -> None:
    from benchmarks.private_memory import library_of

    shown = sorted(by_file.items(), key=lambda item: -item[1])
    print(f"the libraries' own pages by file ({sum(by_file.values()):.1f} MB), the largest:")
    for path, mb in shown[:16]:
        print(f"  {mb:5.2f} {library_of(path)}")
    ffmpeg = {"av.libs": 0.0, "opencv_python_headless.libs": 0.0}
    for path, mb in by_file.items():
        for package in ffmpeg:
            if f"/{package}/" in path and Path(path).name.startswith(("libav", "libsw")):
                ffmpeg[package] += mb
    print(
        f"  FFmpeg's libraries: PyAV's {ffmpeg['av.libs']:.2f} MB, OpenCV's own copy (loaded "
        f"with cv2, unused on a file or RTSP camera) {ffmpeg['opencv_python_headless.libs']:.2f}"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["attribute"]:
        attribute(sys.argv[2])
        sys.exit(0)
    for library in LIBRARIES:
        import_library(library)
    if sys.argv[1].startswith("device-"):
        import_library(OWN)
        sys.argv[1] = sys.argv[1].removeprefix("device-")
    if sys.argv[1:2] == ["media"]:
        print(media(sys.argv[2]))
    elif sys.argv[1:2] == ["decode"]:
        print(decode(sys.argv[2]))
