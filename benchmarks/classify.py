"""Event classification (issue 26): what it costs and whether the device keeps up with it.

Prints:
  1. the cost per classified frame (ms, one thread, this machine) on real frames: the highway
     clips in tests/data, every 10th frame with motion, with the motion detector's boxes, and per
     crop (the detector runs once per crop);
  2. the label each real clip's events get from `doorbell analyze` (ground truth: vehicles);
  3. a real-time run of `doorbell run` at 640x480, 15 fps (synthetic ten_visits scene), with
     classification on and off: peak RSS, CPU share of one core, frames dropped by the camera,
     analysis and recording, frames the classifier dropped and classified, and the delay from an
     event's first frame to its `start` alert reaching a subscriber (p50 / p95).

Usage: python benchmarks/classify.py [--realtime-seconds 60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.pipeline import run_device  # noqa: E402
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


def realtime(seconds: float) -> None:
    work = Path(tempfile.mkdtemp(prefix="doorbell-classify-"))
    broker = MosquittoBroker(work / "broker")
    broker.start()
    try:
        for name, extra in (("off", ["--set", "classify.enabled=false"]), ("on", [])):
            sub = Subscriber(broker.port, ["doorbell/bench/event"])
            summary, wall, cpu, peaks = run_device(
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
                ]
            )
            time.sleep(1.0)  # the last alerts reach the subscriber
            delays = start_delays(sub)
            sub.close()
            kinds = ("camera", "analysis", "recording", "classify")
            dropped = "/".join(str(summary[f"dropped_{kind}"]) for kind in kinds)
            line = (
                f"real time 640x480@15, {seconds:.0f} s, classification {name}: "
                f"{peaks}, CPU {100 * cpu / wall:.0f} % of one core, dropped "
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--realtime-seconds", type=float, default=60.0)
    opts = parser.parse_args()
    cost_per_frame()
    clip_labels()
    realtime(opts.realtime_seconds)


if __name__ == "__main__":
    main()
