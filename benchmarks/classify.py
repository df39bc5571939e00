"""Event classification (issue 26): what it costs and whether the device keeps up with it.

Prints:
  1. the cost per classified frame (ms, one thread, this machine) on real frames: the highway
     clips in tests/data, every 10th frame with motion, with the motion detector's boxes, and per
     crop (the detector runs once per crop);
  2. the label each real clip's events get from `doorbell analyze` (ground truth: vehicles);
  3. a real-time run of `doorbell run` at 640x480, 15 fps (synthetic ten_visits scene), with
     classification on and off: peak RSS, private memory (RssAnon) and file pages (RssFile),
     CPU share of one core, frames dropped by the camera, analysis and recording, frames the
     classifier dropped and classified, and the delay from an event's first frame to its
     `start` alert reaching a subscriber (p50 / p95);
  4. what classification adds to the device's peak RSS, and where: the device's mappings
     (/proc/PID/smaps: the heap, anonymous memory, each library's file pages) at its highest
     RSS, with the classifier minus without, and when in the run that peak came.

With --pi4-runtime, a third real-time run has the classifier on the fp32 Interpreter whatever
this CPU does (a Pi 4 has no fp16 arithmetic), to measure that runtime's cost on this machine.

Usage: python benchmarks/classify.py [--realtime-seconds 60] [--pi4-runtime]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.peak_memory import POLL_SECONDS, Peaks, poll_status  # noqa: E402
from doorbell.config.camera import CameraConfig  # noqa: E402
from doorbell.config.classify import ClassifyConfig  # noqa: E402
from doorbell.config.motion import MotionConfig  # noqa: E402
from doorbell.device.classify.crops import merged  # noqa: E402
from doorbell.device.classify.model_file import open_classifier  # noqa: E402
from doorbell.device.runtime.analysis import analyze  # noqa: E402
from doorbell.device.runtime.frame import Frame  # noqa: E402
from doorbell.device.sources import open_source  # noqa: E402
from doorbell.motion.events import EventTracker  # noqa: E402
from doorbell.motion.types import MotionResult  # noqa: E402
from tests.support.broker import MosquittoBroker  # noqa: E402
from tests.support.subscriber import Subscriber  # noqa: E402

CLIPS = [
    ROOT / "tests" / "data" / "highway-trees.avi",
    ROOT / "tests" / "data" / "highway-overlay.avi",
]


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[max(0, round(share * len(values)) - 1)]


def cost_per_frame() -> None:
    classifier = open_classifier(ClassifyConfig())
    if classifier is None:
        raise SystemExit("the model is not installed: ./dev.sh install")
    per_frame: list[float] = []
    crops = 0
    for clip in CLIPS:
        source = open_source(CameraConfig(source=f"file:{clip}", speed="max"))
        source.open()

        def on_frame(frame: Frame, motion: MotionResult, tracker: EventTracker) -> None:
            nonlocal crops
            if frame.seq % 10 == 0 and motion.boxes:
                began = time.perf_counter()
                classifier.classify(frame.seq, frame.main, motion.boxes)
                per_frame.append(1000 * (time.perf_counter() - began))
                crops += len(merged(motion.boxes, ClassifyConfig().max_crops))

        try:
            analyze(source, MotionConfig(), on_frame)
        finally:
            source.close()
    total = sum(per_frame)
    print(
        f"cost per classified frame over {len(per_frame)} real frames (320x240, up to "
        f"{ClassifyConfig().max_crops} crops each): median {statistics.median(per_frame):.1f} ms, "
        f"p95 {percentile(per_frame, 0.95):.1f} ms; {crops / len(per_frame):.2f} crops a frame, "
        f"{total / crops:.1f} ms a crop"
    )


def clip_labels() -> None:
    for clip in CLIPS:
        done = subprocess.run(
            [sys.executable, "-m", "doorbell.device", "analyze", str(clip), "--json", "-"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        events = json.loads(done.stdout)["events"]
        labels = [(e["label"], e["labels"].get("vehicle")) for e in events]
        print(f"{clip.name}: {len(events)} events (truth: vehicles), labels {labels}")


def start_delays(sub: Subscriber) -> list[float]:
    """Per motion alert: its arrival minus the wall time of the event's first frame, in ms."""
    out = []
    for message in sub.messages:
        event = json.loads(message.payload)
        if event["state"] == "start" and event["type"] == "motion":
            begun = datetime.fromisoformat(event["start"].replace("Z", "+00:00")).timestamp()
            out.append(1000 * (message.wall - begun))
    return out


def mappings_mb(pid: int) -> dict[str, tuple[float, float]]:
    """`pid`'s resident memory per mapped file (its name), `[heap]` and `[anon]` (anonymous
    mappings: the threads' malloc arenas, large buffers, Python's object arenas), in MB: (RSS,
    of which private copies)."""
    out: dict[str, list[int]] = {}
    name = "[anon]"
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            fields = line.split(maxsplit=5)
            if not fields[0].endswith(":"):
                name = fields[5].strip().rsplit("/", 1)[-1] if len(fields) == 6 else "[anon]"
                out.setdefault(name, [0, 0])
            elif fields[0] in ("Rss:", "Anonymous:"):
                out[name][fields[0] == "Anonymous:"] += int(fields[1])
    return {k: (v[0] / 1024, v[1] / 1024) for k, v in out.items()}


@dataclass
class Traced:
    summary: dict[str, Any]
    wall: float
    cpu: float
    peaks: Peaks
    peak_at: float  # seconds after the start when the RSS was highest
    at_peak: dict[str, tuple[float, float]]  # mappings_mb then


# `doorbell` with the classifier on the fp32 Interpreter whatever the CPU: a Pi 4's runtime (no
# fp16 arithmetic there), measured on this machine.
PI4_RUNTIME = (
    "import doorbell.device.classify.runtime as r; r.cpu_has_fp16 = lambda: False; "
    "from doorbell.device.cli import main; main()"
)


def run_traced(args: list[str], fp32: bool = False) -> Traced:
    """`doorbell run ARGS` (`fp32`: on a Pi 4's runtime), its peaks polled
    (benchmarks/peak_memory.py) and its mappings read whenever its RSS reaches a new high (by
    0.25 MB: the last read is within that of the peak)."""
    launch = ["-c", PI4_RUNTIME] if fp32 else ["-m", "doorbell.device"]
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        began = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, *launch, "run", *args, "--summary-json", str(summary)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        peaks, high, peak_at, at_peak = Peaks(), 0.0, 0.0, {}
        while True:
            now = poll_status(proc.pid)
            peaks.rss_mb = max(peaks.rss_mb, now.get("VmHWM", 0.0))
            peaks.anon_mb = max(peaks.anon_mb, now.get("RssAnon", 0.0))
            peaks.file_mb = max(peaks.file_mb, now.get("RssFile", 0.0))
            rss = now.get("RssAnon", 0.0) + now.get("RssFile", 0.0)
            if rss > high + 0.25:
                with contextlib.suppress(OSError):  # it has just gone
                    at_peak, high, peak_at = mappings_mb(proc.pid), rss, time.monotonic() - began
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(POLL_SECONDS)
        wall = time.monotonic() - began
        if os.waitstatus_to_exitcode(status) != 0:
            assert proc.stderr is not None
            raise SystemExit(f"doorbell run failed: {proc.stderr.read().decode()[-2000:]}")
        return Traced(
            json.loads(summary.read_text()),
            wall,
            usage.ru_utime + usage.ru_stime,
            peaks,
            peak_at,
            at_peak,
        )


def realtime(seconds: float, pi4: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="doorbell-classify-"))
    broker = MosquittoBroker(work / "broker")
    broker.start()
    runs: dict[str, Traced] = {}
    try:
        variants = [("off", ["--set", "classify.enabled=false"]), ("on", [])]
        if pi4:
            variants.append(("on, a Pi 4's fp32 Interpreter", []))
        for name, extra in variants:
            sub = Subscriber(broker.port, ["doorbell/bench/event"])
            run = runs[name] = run_traced(
                [
                    "--broker",
                    broker.url,
                    "--device-id",
                    "bench",
                    "--log-level",
                    "WARNING",
                    "--set",
                    "web.listen=null",
                    "--camera",
                    "synthetic:ten_visits",
                    "--speed",
                    "1",
                    "--duration",
                    str(seconds),
                    "--data-dir",
                    str(work / name),
                    *extra,
                ],
                fp32=name.endswith("Interpreter"),
            )
            time.sleep(1.0)  # the last alerts reach the subscriber
            delays = start_delays(sub)
            sub.close()
            summary = run.summary
            kinds = ("camera", "analysis", "recording", "classify")
            dropped = "/".join(str(summary[f"dropped_{kind}"]) for kind in kinds)
            line = (
                f"real time 640x480@15, {seconds:.0f} s, classification {name}: "
                f"{run.peaks} (highest {run.peak_at:.0f} s in), CPU "
                f"{100 * run.cpu / run.wall:.0f} % of one core, dropped "
                f"camera/analysis/recording/classify {dropped}, {summary['events']} events, "
                f"{summary['classified']} frames classified"
            )
            if delays:
                line += (
                    f", first frame -> start alert p50 {statistics.median(delays):.0f} ms, "
                    f"p95 {percentile(delays, 0.95):.0f} ms"
                )
            print(line)
    finally:
        broker.stop()
    print_added(runs["off"], runs["on"])
    if pi4:
        fp32 = runs["on, a Pi 4's fp32 Interpreter"]
        print(
            f"on a Pi 4's runtime (fp32 Interpreter) classification adds: peak RSS "
            f"{fp32.peaks.rss_mb - runs['off'].peaks.rss_mb:+.1f} MB, private (RssAnon) "
            f"{fp32.peaks.anon_mb - runs['off'].peaks.anon_mb:+.1f} MB"
        )


def print_added(off: Traced, on: Traced) -> None:
    """What the classifier adds to the peak, and in which mappings (at each run's highest RSS)."""
    print(
        f"classification adds: peak RSS {on.peaks.rss_mb - off.peaks.rss_mb:+.1f} MB, "
        f"private (RssAnon) {on.peaks.anon_mb - off.peaks.anon_mb:+.1f} MB, file pages "
        f"(RssFile) {on.peaks.file_mb - off.peaks.file_mb:+.1f} MB; at the highest RSS, by mapping:"
    )
    names = set(on.at_peak) | set(off.at_peak)
    none = (0.0, 0.0)
    added = {
        n: (
            on.at_peak.get(n, none)[0] - off.at_peak.get(n, none)[0],
            on.at_peak.get(n, none)[1] - off.at_peak.get(n, none)[1],
        )
        for n in names
    }
    total = sum(rss for rss, _ in added.values())
    for name, (rss, private) in sorted(added.items(), key=lambda kv: -abs(kv[1][0]))[:8]:
        print(f"  {name:50s} {rss:+6.1f} MB (private {private:+5.1f})")
    print(f"  {'all':50s} {total:+6.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--realtime-seconds", type=float, default=60.0)
    parser.add_argument(
        "--pi4-runtime",
        action="store_true",
        help="A third real-time run: the classifier on the fp32 Interpreter, a Pi 4's runtime.",
    )
    opts = parser.parse_args()
    cost_per_frame()
    clip_labels()
    realtime(opts.realtime_seconds, opts.pi4_runtime)


if __name__ == "__main__":
    main()
