"""Heads filled where no face is found (issue 30): what the person cover costs a share's worker,
on real footage of people walking (OpenCV's vtest.avi, benchmarks/real_footage.py: Debian's
opencv-doc, Apache-2.0 AND BSD-3-Clause), the first `--seconds` of it at 640x480, 10 fps.

The clip is redacted faces only, then faces and the heads of people whose faces are not found
(device/redaction/people.py), each two ways:
- by the worker as the device runs it (WorkerRedactor, each pass a process of its own:
  benchmarks/redaction_passes.py): each pass's peak private memory (RssAnon) and peak RSS, and
  the CPU time of all of them;
- all passes in one process (Redactor in a child that has loaded what a device has: how the
  worker ran before issue 30's second round), with the frames filled, people found and heads
  filled counted.

    .venv/bin/python benchmarks/redaction_people.py [--seconds 20]

Goals: a 20 s 640x480 clip in at most 20 s of one core; the worker's private peak plus the
device's own growth (benchmarks/redaction_on_device.py) at most 60 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from real_footage import describe, vtest_h264  # noqa: E402
from redaction_passes import redact  # noqa: E402

# VmHWM, not ru_maxrss: Linux carries the parent's high-water mark into a child's ru_maxrss.
CHILD = """
import json, os, sys, time
from pathlib import Path
import av, cv2, numpy  # what a running device has loaded already
import doorbell.uplink.requests.share
from doorbell.device.system.memory import status_mb
before = status_mb("VmHWM", os.getpid())
# private memory (RssAnon) polled apart: the libraries' file pages are shared with the device's
anon = {"before": status_mb("RssAnon", os.getpid()), "peak": 0.0}
def poll():
    while True:
        anon["peak"] = max(anon["peak"], status_mb("RssAnon", os.getpid()))
        time.sleep(0.02)
import threading
threading.Thread(target=poll, daemon=True).start()
from doorbell.uplink.requests import redaction
people = None
counts = {"people": 0, "heads": 0}
if sys.argv[3] == "people":
    from doorbell.device.redaction.people import open_person_finder, people_problem
    if people_problem() is not None:
        raise SystemExit("no person model: ./dev.sh install")
    class Counting:
        # built when the redactor asks, as the worker's factory: its release is measured too
        def __init__(self):
            self.finder = open_person_finder()
        def people(self, rgb):
            found = self.finder.people(rgb)
            counts["people"] += len(found)
            return found
    people = Counting
heads_at = redaction.Looks.heads_at
def counted_heads_at(looks):
    found = heads_at(looks)
    counts["heads"] += sum(len(heads) for heads in found.values())
    return found
redaction.Looks.heads_at = counted_heads_at
redactor = redaction.Redactor(people=people)
cpu, wall = time.process_time(), time.perf_counter()
done = redactor.clip(Path(sys.argv[1]), Path(sys.argv[2]))
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({"cpu": cpu, "wall": wall, "peak_before": before,
                  "peak_after": status_mb("VmHWM", os.getpid()), "frames": done.frames,
                  "covered": done.frames_with_faces, "anon_before": anon["before"],
                  "anon_peak": anon["peak"], **counts}))
"""


def first_seconds(source: Path, target: Path, seconds: float) -> int:
    """The first `seconds` of `source`, re-encoded as a camera's clip (libx264, 10 fps)."""
    with av.open(str(source)) as src, av.open(str(target), "w", format="mp4") as dst:
        video = src.streams.video[0]
        rate = video.average_rate or Fraction(10)
        out = dst.add_stream("libx264", rate=rate)
        out.width, out.height, out.pix_fmt = video.width, video.height, "yuv420p"
        out.options = {"preset": "veryfast", "bf": "0"}
        frames = 0
        for frame in src.decode(video):
            if frames >= seconds * float(rate or 10):
                break
            picture = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), "rgb24")
            picture.pts = frames  # in frames: the clip's own rate, as a camera's
            dst.mux(out.encode(picture))
            frames += 1
        dst.mux(out.encode(None))
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=1, help="each way, interleaved")
    args = parser.parse_args()
    print(f"footage: {describe()}, 640x480")
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        frames = first_seconds(vtest_h264(640, 480), clip, args.seconds)
        print(f"clip: the first {frames} frames ({args.seconds:g} s)")
        for mode in [m for _ in range(args.rounds) for m in ("faces", "people")]:
            child = subprocess.run(
                [sys.executable, "-c", CHILD, str(clip), str(Path(tmp) / "out.mp4"), mode],
                capture_output=True,
                text=True,
                check=True,
            )
            run = json.loads(child.stdout)
            growth = run["peak_after"] - run["peak_before"]
            passes = redact([(clip, Path(tmp) / "out.mp4")], people=mode == "people")
            print(f"{mode:>6}, the worker's passes: {passes.line()}")
            line = (
                f"{mode:>6}, in one process: {run['cpu']:.1f} s of CPU ({run['wall']:.1f} s wall)"
                f" = {run['cpu'] / args.seconds:.2f} s per second of video; peak RSS "
                f"{run['peak_before']:.0f} -> {run['peak_after']:.0f} MB (+{growth:.0f}), private "
                f"(RssAnon) {run['anon_before']:.0f} -> {run['anon_peak']:.0f} MB; "
                f"something filled in {run['covered']} of {run['frames']} frames"
            )
            if mode == "people":
                line += (
                    f"; {run['people']} people found in the frames looked at, "
                    f"{run['heads']} heads filled as no face was found in them"
                )
            print(line)
    print(
        "goals: a 20 s 640x480 clip in <= 20 s of one core; the worker's worst pass plus the "
        "device's own growth (benchmarks/redaction_on_device.py) <= 60 MB"
    )


if __name__ == "__main__":
    main()
