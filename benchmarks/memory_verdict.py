"""The private-memory goal against its floor (issue 31, round 5): can `doorbell run` keep its
peak private memory (RssAnon) to 45 MB at 768x576 and 55 MB at 1280x720 with the libraries it
is to use (numpy, OpenCV, PyAV, pydantic, paho-mqtt)?

On real footage (OpenCV's vtest.avi as a camera's H.264, `benchmarks/real_footage.py`), each
figure the peak RssAnon polled from outside the process (`benchmarks/peak_memory.py`), every
step `--runs` times, interleaved:
1. the interpreter alone (`python -c pass`);
2. the libraries imported, nothing run (`library_floor.py imports`: numpy, PyAV, OpenCV,
   simplejpeg, pydantic with a model built, PyYAML, click, sqlite3, ssl, paho-mqtt);
3. and the device's own modules, as `doorbell run` imports them (`device-imports`);
4. and the device's decoder on a thread decoding every frame (`device-decode VIDEO`): what a
   pass-through device holds before any frame is in its pipeline, any packet in its pre-roll
   ring, any clip written or any message sent;
5. the device itself, pass-through (no mask), recording every frame, at `--speed max`, as
   `before_after.py` runs it (classifier off, page off);
6. Debian's Motion 4.5 in real time on the same file: it decodes, detects and encodes every
   frame to mp4 (more work than pass-through), its web servers off.
`benchmarks/library_floor.py attribute VIDEO` takes steps 2-4 apart by library and by kind.

Usage: python benchmarks/memory_verdict.py [--runs 2] [--size 768x576 --size 1280x720]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.against_motion import (  # noqa: E402
    compile_bytecode,
    ensure_motion,
    floor_peaks,
    real_footage,
    run_motion,
    run_ours,
)
from benchmarks.peak_memory import wait_with_peaks  # noqa: E402
from benchmarks.pipeline import run_device  # noqa: E402
from benchmarks.real_footage import frame_size  # noqa: E402
from tests.support.broker import MosquittoBroker  # noqa: E402

GOAL_MB = {(768, 576): 45.0, (1280, 720): 55.0}


def interpreter_alone() -> float:
    proc = subprocess.Popen([sys.executable, "-c", "pass"], stdout=subprocess.DEVNULL)
    return wait_with_peaks(proc)[2].anon_mb


def spread(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.1f}" if high - low < 0.05 else f"{low:.1f}-{high:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=80.0, help="Video seconds at max.")
    parser.add_argument(
        "--size", type=frame_size, action="append", help="768x576 (default) and/or 1280x720."
    )
    opts = parser.parse_args()
    sizes: list[tuple[int, int]] = opts.size or [(768, 576)]
    motion = ensure_motion()
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="memory-verdict-") as tmp:
        work = Path(tmp)
        broker = MosquittoBroker(work / "broker")
        broker.start()
        common = ["--broker", broker.url, "--device-id", "bench", "--log-level", "WARNING"]
        common += ["--set", "web.listen=null"]
        try:
            for footage in real_footage([(w, h) for w, h in sizes]):
                video = str(footage.video)
                steps: dict[str, list[float]] = {}
                for run in range(opts.runs):
                    got = {
                        "1. the interpreter alone": interpreter_alone(),
                        "2. + the libraries imported": floor_peaks("imports").anon_mb,
                        "3. + the device's own modules": floor_peaks("device-imports").anon_mb,
                        "4. + its decoder on a thread, every frame": floor_peaks(
                            "device-decode", video
                        ).anon_mb,
                        "5. the device, pass-through at --speed max": run_ours(
                            run_device, common, footage, work / f"run{run}", False, opts.seconds
                        ).peaks.anon_mb,
                        "6. Motion 4.5, decode + detect + encode": run_motion(
                            motion, footage, 20.0
                        ).peaks.anon_mb,
                    }
                    for step, mb in got.items():
                        steps.setdefault(step, []).append(mb)
                goal = GOAL_MB.get((footage.width, footage.height))
                print(f"{footage.label}: peak RssAnon (MB), {opts.runs} runs; goal {goal} MB")
                for step, values in steps.items():
                    over = f" ({min(values) - goal:+.1f} against the goal)" if goal else ""
                    print(f"  {step:45s} {spread(values):>10s}{over}", flush=True)
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
