"""libx264's options for masked (re-encoded) recording, measured apart from the device (issue 31).

A privacy mask makes the recorder re-encode every frame (`device/recording/stream_encoder.py`):
libx264 is most of the masked path's extra CPU. This encodes the same decoded frames of real
footage (vtest, `benchmarks/real_footage.py`) with the encoder's options and with each variant,
in one process, the variants interleaved round by round, two ways:
  - paced: one frame every 1/fps seconds, as the camera gives them in real time (between two
    frames the machine runs other work, and the encoder's tables are no longer in the caches:
    a frame costs ~25 % more than back to back);
  - back to back, as at --speed max.
It prints the encoder's CPU per frame (the thread's CPU time spent in `encode`), the bytes per
frame it wrote, and the mean luma PSNR of the decoded output against its input (how much of
the picture a variant gives away, if any).

Usage: python benchmarks/x264_options.py [--frames 80] [--rounds 3] [--size 768x576]
       [--variant NAME ...]   (default: all)
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from fractions import Fraction
from itertools import islice
from pathlib import Path
from typing import Any

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.against_motion import real_footage  # noqa: E402
from benchmarks.real_footage import frame_size  # noqa: E402
from doorbell.config.record import RecordConfig  # noqa: E402
from doorbell.device.recording.stream_encoder import x264_options  # noqa: E402

WARM = 20  # frames encoded first and not counted: the encoder's start
# Over StreamEncoder's options (`x264_options`): what it gave before, and others beside them.
VARIANTS: dict[str, dict[str, str]] = {
    "decimate (before)": {"x264-params": "dct-decimate=1"},
    "dct-decimate=0 (now)": {},
    "qmin 22": {"qmin": "22"},
    "cqp 20 (no bitrate)": {"qp": "20"},
}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 10 * np.log10(255**2 / max(mse, 1e-9))


def encode(
    pictures: list[np.ndarray], fps: float, options: dict[str, str], pace: float
) -> tuple[float, float, float]:
    """CPU ms per frame in `encode`, bytes per frame, mean luma PSNR; a frame every `pace` s."""
    height, width = pictures[0].shape[0] * 2 // 3, pictures[0].shape[1]
    out_buffer = io.BytesIO()
    out: Any = av.open(out_buffer, "w", format="h264")
    stream: Any = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.bit_rate = RecordConfig().bitrate
    stream.options = options
    cpu, size = 0.0, 0
    for n, picture in enumerate(pictures):
        if n >= WARM and pace:
            time.sleep(pace)  # the benchmark's own clock: the camera's frame interval
        frame = av.VideoFrame.from_numpy_buffer(picture, format="yuv420p")
        frame.pts = n
        began = time.thread_time()
        packets = stream.encode(frame)
        if n >= WARM:
            cpu += time.thread_time() - began
            size += sum(p.size for p in packets)
        for packet in packets:
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    out_buffer.seek(0)
    with av.open(out_buffer, format="h264") as decoded:
        quality = [
            psnr(p[:height], f.to_ndarray()[:height])
            for p, f in zip(pictures, decoded.decode(video=0), strict=True)
        ]
    counted = len(pictures) - WARM
    return 1000 * cpu / counted, size / counted, float(np.mean(quality))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=80, help="Frames counted per run.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--size", type=frame_size, default=(768, 576), help="768x576 or 1280x720 (vtest)."
    )
    parser.add_argument("--variant", action="append", choices=list(VARIANTS))
    opts = parser.parse_args()
    width, height = opts.size
    footage = real_footage([(width, height)])[0]
    with av.open(str(footage.video)) as container:
        frames = islice(container.decode(video=0), WARM + opts.frames)
        pictures = [frame.to_ndarray() for frame in frames]
    record = RecordConfig()
    print(
        f"{footage.label}; libx264 {record.preset}, {record.bitrate} bit/s, "
        f"{opts.frames} frames a run, {opts.rounds} round(s), variants interleaved",
        flush=True,
    )
    for round_ in range(opts.rounds):
        for name in opts.variant or list(VARIANTS):
            options = x264_options(
                record.preset, record.encoder_threads, record.keyframe_frames(footage.fps)
            )
            options.update(VARIANTS[name])
            paced = encode(pictures, footage.fps, options, 1 / footage.fps)
            fast = encode(pictures, footage.fps, options, 0.0)
            print(
                f"  round {round_ + 1} {name:22s} paced {paced[0]:.2f} ms/frame, back to back "
                f"{fast[0]:.2f} ms/frame; {paced[1] / 1000:.1f} kB/frame, luma PSNR "
                f"{paced[2]:.2f} dB",
                flush=True,
            )


if __name__ == "__main__":
    main()
