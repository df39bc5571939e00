"""Real camera footage for the benchmarks, from a package registry (issue 31).

OpenCV's `vtest.avi` (768x576, 10 fps, 795 frames: pedestrians filmed by a fixed camera, from
OpenCV's `samples/data`) is shipped by Debian's `opencv-doc` package (4.6.0+dfsg-12 on Debian 12,
at /usr/share/doc/opencv-doc/examples/data/vtest.avi; licence Apache-2.0 AND BSD-3-Clause, the
package's `Files: *` stanza of /usr/share/doc/opencv-doc/copyright). The package is 96 MB, so it
is fetched with `apt-get download` into a cache directory (never committed), and only the clip is
kept from it.

The clip is MS-MPEG-4, which no camera sends and pass-through does not keep, so it is converted
once to H.264 with libx264 (PyAV), as a camera would send it: a keyframe every 2 s, no B-frames,
2 Mbit/s at 768x576. A 1280x720 version is the same picture scaled (and stretched from 4:3 to
16:9): real footage's texture and motion at that size, not a 720p camera's own picture.

Usage: python benchmarks/real_footage.py   (prints the paths, fetching what is missing)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tarfile
import tempfile
from fractions import Fraction
from pathlib import Path

import av

PACKAGE = "opencv-doc"
MEMBER = "./usr/share/doc/opencv-doc/examples/data/vtest.avi"
LICENCE = "Apache-2.0 AND BSD-3-Clause"
GOP_SECONDS = 2
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "doorbell-bench"


def frame_size(text: str) -> tuple[int, int]:
    """`--size WxH`; anything else: argparse's one line and exit 2, no traceback."""
    width, _, height = text.partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 768x576")
    return int(width), int(height)


def vtest_original() -> Path:
    """`vtest.avi` from Debian's opencv-doc, fetched with apt-get download when not cached."""
    target = CACHE / "vtest.avi"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"fetching {PACKAGE} (Debian, 96 MB) with apt-get download for vtest.avi", flush=True)
    with tempfile.TemporaryDirectory(prefix="opencv-doc-") as tmp:
        # apt drops to its own user to download: a directory it may write into.
        os.chmod(tmp, 0o777)
        subprocess.run(
            ["apt-get", "download", PACKAGE], cwd=tmp, check=True, stdout=subprocess.DEVNULL
        )
        deb = next(Path(tmp).glob(f"{PACKAGE}_*.deb"))
        tar = subprocess.run(
            ["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, stdout=subprocess.PIPE
        )
        tar_path = Path(tmp) / "data.tar"
        tar_path.write_bytes(tar.stdout)
        with tarfile.open(tar_path) as archive:
            source = archive.extractfile(MEMBER)
            if source is None:
                raise SystemExit(f"{PACKAGE} has no {MEMBER}")
            partial = target.with_suffix(".part")
            with partial.open("wb") as out:
                shutil.copyfileobj(source, out)
            partial.rename(target)
    return target


def vtest_h264(width: int = 768, height: int = 576, gop_seconds: float = GOP_SECONDS) -> Path:
    """vtest.avi as a camera's H.264 MP4 at this size, a keyframe every `gop_seconds`
    (converted once, then cached)."""
    gop = "" if gop_seconds == GOP_SECONDS else f"_gop{gop_seconds:g}s"
    target = CACHE / f"vtest_{width}x{height}{gop}_h264.mp4"
    if target.exists():
        return target
    original = vtest_original()
    partial = target.with_suffix(".part.mp4")
    with av.open(str(original)) as src, av.open(str(partial), "w") as dst:
        rate = src.streams.video[0].average_rate or Fraction(10)
        out = dst.add_stream("libx264", rate=rate)
        out.width, out.height, out.pix_fmt = width, height, "yuv420p"
        out.bit_rate = round(2_000_000 * width * height / (768 * 576))
        out.options = {"g": str(round(gop_seconds * rate)), "bf": "0", "preset": "veryfast"}
        for frame in src.decode(video=0):
            picture = frame.reformat(width, height, "yuv420p", interpolation="BICUBIC")
            picture.pts = None
            dst.mux(out.encode(picture))
        dst.mux(out.encode(None))
    partial.rename(target)
    return target


def describe(gop_seconds: float = GOP_SECONDS) -> str:
    return (
        f"OpenCV's vtest.avi (Debian package {PACKAGE}, {LICENCE}), converted once to H.264 "
        f"(libx264, keyframe every {gop_seconds:g} s, no B-frames)"
    )


if __name__ == "__main__":
    print(describe())
    for size in ((768, 576), (1280, 720)):
        print(vtest_h264(*size))
