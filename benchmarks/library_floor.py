"""The floor under the device's peak RSS: what its libraries cost before any work of its own.

`against_motion.py` runs this as a child and measures its peak (issue 20), one of two ways:
- `imports`: numpy, OpenCV, PyAV, simplejpeg, pydantic (one model built, which loads most of
  it), PyYAML, click, sqlite3 and paho-mqtt imported; nothing run;
- `media VIDEO`: the same, plus every frame of VIDEO decoded by the device's own `PyAvCapture`
  and encoded by its own `StreamEncoder` with the default recording settings, on one thread:
  the pictures' path without threads, queues, detector, broker or storage (a masked run's floor);
- `decode VIDEO`: the same without the encoder, the decoder on a thread of its own as the
  device's capture thread runs it (a pass-through run's floor; issue 31).
What the device peaks at beyond these is the rest of the device: its own modules, threads,
frames in flight, snapshots, clips and the broker link.

Usage: python benchmarks/library_floor.py imports | media VIDEO | decode VIDEO
"""

from __future__ import annotations

import sqlite3  # noqa: F401
import sys
from pathlib import Path

import av  # noqa: F401  (each imported for its size, as the device imports it)
import click  # noqa: F401
import cv2  # noqa: F401
import numpy  # noqa: F401
import paho.mqtt.client  # noqa: F401
import pydantic
import simplejpeg  # noqa: F401
import yaml  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class _Built(pydantic.BaseModel):
    value: int = 0


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


if __name__ == "__main__":
    _Built(value=1)
    if sys.argv[1:2] == ["media"]:
        print(media(sys.argv[2]))
    elif sys.argv[1:2] == ["decode"]:
        print(decode(sys.argv[2]))
