"""Whole-device numbers (issue 8): speed at --speed max, peak memory, real-time CPU, alert latency.

Runs the real `doorbell run` against a local mosquitto and prints:
  1. a 10-minute 640x480@15 synthetic run at --speed max, recording on: x real time;
  2. the same with a 1280x720 main stream: peak RSS of the device process;
  3. a real-time run at 15 fps (640x480 analysis source, 1280x720 recording): CPU share of one
     core for the whole device, frames dropped;
  4. alert latency in that real-time run: from the first frame in which the visitor is in view
     (the scenario's ground truth) to the subscriber receiving the event, p50 / p95;
  5. against Debian's `motion` on the same file, recording on in both, on real footage
     (OpenCV's vtest.avi from Debian's opencv-doc, as H.264, at 768x576 and scaled to 1280x720)
     and on the rendered scene (768x576, 640x480, 1280x720): CPU per frame, without a mask
     (pass-through) and with one (re-encoded), at --speed max and in real time; peak RSS,
     private memory (RssAnon) and file pages (RssFile) of each (`benchmarks/against_motion.py`;
     installs motion with apt-get when missing, and says so).

Usage: python benchmarks/pipeline.py [--minutes 10] [--realtime-seconds 120]
       [--compare-seconds 30] [--rounds 2] [--footage real|scene|both] [--only-compare]
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
SCENE_SIZES = [(768, 576), (640, 480), (1280, 720)]
sys.path.insert(0, str(ROOT))

from benchmarks.against_motion import compare, real_footage, render  # noqa: E402
from benchmarks.peak_memory import Peaks, wait_with_peaks  # noqa: E402
from doorbell.config.motion import MotionConfig  # noqa: E402
from doorbell.device.emulation.scenarios import load_scenario  # noqa: E402
from tests.support.broker import MosquittoBroker  # noqa: E402
from tests.support.subscriber import Subscriber  # noqa: E402


def run_device(args: list[str]) -> tuple[dict, float, float, Peaks]:
    """Run `doorbell run ARGS`; return its summary, wall seconds, CPU seconds and memory peaks."""
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        began = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "doorbell.device", "run", *args, "--summary-json", str(summary)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        code, usage, peak = wait_with_peaks(proc)
        wall = time.monotonic() - began
        if code != 0:
            assert proc.stderr is not None
            raise SystemExit(f"doorbell run failed: {proc.stderr.read().decode()[-2000:]}")
        cpu = usage.ru_utime + usage.ru_stime
        return json.loads(summary.read_text()), wall, cpu, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--realtime-seconds", type=float, default=220.0)
    parser.add_argument("--scenario", default="synthetic:ten_visits")
    parser.add_argument("--compare-seconds", type=float, default=30.0)
    parser.add_argument("--only-compare", action="store_true", help="Only the Motion comparison.")
    parser.add_argument("--rounds", type=int, default=2, help="Motion comparison rounds.")
    parser.add_argument(
        "--footage", choices=["real", "scene", "both"], default="both", help="Motion comparison."
    )
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="doorbell-bench-"))
    broker = MosquittoBroker(work / "broker")
    broker.start()
    common = ["--broker", broker.url, "--device-id", "bench", "--log-level", "WARNING"]
    # The local page is on by default off a Pi, off on one: measure the device without it (its
    # own cost is benchmarks/web.py's), as Motion is measured without its web server.
    common += ["--set", "web.listen=null"]
    try:
        footages = []
        if opts.footage in ("real", "both"):
            footages += real_footage([(768, 576), (1280, 720)])
        if opts.footage in ("scene", "both"):
            scenes = work / "scenes"
            scenes.mkdir()
            footages += [render(scenes, *size, 60.0) for size in SCENE_SIZES]
        compare(run_device, common, footages, opts.compare_seconds, opts.rounds)
        if opts.only_compare:
            return
        duration = str(opts.minutes * 60)
        summary, wall, cpu, rss = run_device(
            [
                *common,
                "--camera",
                opts.scenario,
                "--speed",
                "max",
                "--duration",
                duration,
                "--data-dir",
                str(work / "d1"),
            ]
        )
        print(
            f"speed max, 640x480@15, {opts.minutes:.0f} min: {summary['speed']:.1f}x real time "
            f"({summary['frames']} frames in {wall:.1f} s, {summary['events']} events, "
            f"{summary['clips']} clips), {rss}"
        )
        hd = ["--set", "camera.width=1280", "--set", "camera.height=720"]
        summary, wall, cpu, rss = run_device(
            [
                *common,
                *hd,
                "--camera",
                opts.scenario,
                "--speed",
                "max",
                "--duration",
                duration,
                "--data-dir",
                str(work / "d2"),
            ]
        )
        print(f"speed max, 1280x720 main: {summary['speed']:.1f}x real time, {rss}")
        sub = Subscriber(broker.port, ["doorbell/bench/event"])
        seconds = str(opts.realtime_seconds)
        summary, wall, cpu, rss = run_device(
            [
                *common,
                *hd,
                "--camera",
                opts.scenario,
                "--speed",
                "1",
                "--duration",
                seconds,
                "--data-dir",
                str(work / "d3"),
            ]
        )
        dropped = summary["dropped_camera"] + summary["dropped_analysis"]
        dropped += summary["dropped_recording"]
        print(
            f"real time 15 fps, 1280x720 recording: CPU {100 * cpu / wall:.0f} % of one core, "
            f"frames dropped {dropped}, {rss}"
        )
        latencies = alert_latencies(sub, opts.scenario, summary["started_at"])
        if latencies:
            p50 = statistics.median(latencies)
            p95 = sorted(latencies)[max(0, round(0.95 * len(latencies)) - 1)]
            budget = 1000 * MotionConfig().min_frames / 15
            print(
                f"alert latency over {len(latencies)} visits (truth: visitor in view -> "
                f"subscriber): p50 {p50:.0f} ms, p95 {p95:.0f} ms; min_frames alone is "
                f"{budget:.0f} ms, so p95 beyond it: {p95 - budget:.0f} ms"
            )
        beyond = processing_latencies(sub)
        if beyond:
            p50 = statistics.median(beyond)
            p95 = sorted(beyond)[max(0, round(0.95 * len(beyond)) - 1)]
            print(
                f"processing latency over {len(beyond)} alerts (frame completing min_frames -> "
                f"subscriber): p50 {p50:.0f} ms, p95 {p95:.0f} ms"
            )
        sub.close()
    finally:
        broker.stop()


def processing_latencies(sub: Subscriber) -> list[float]:
    """Per alert: arrival minus the wall time of the frame that completed min_frames, in ms:
    what the device and broker add beyond the configured min_frames."""
    out = []
    for message in sub.messages:
        event = json.loads(message.payload)
        if event["state"] == "start":
            begun = datetime.fromisoformat(event["start"].replace("Z", "+00:00")).timestamp()
            decided = begun + (MotionConfig().min_frames - 1) / 15
            out.append(1000 * (message.wall - decided))
    return out


def alert_latencies(sub: Subscriber, scenario_name: str, started_at: float) -> list[float]:
    """Per visit: arrival of its alert minus the wall time of the first frame in which the ground
    truth has the visitor in view, in ms."""
    scenario = load_scenario(scenario_name.partition(":")[2] or "porch")
    starts = []
    for message in sub.messages:
        event = json.loads(message.payload)
        if event["state"] == "start":
            begun = datetime.fromisoformat(event["start"].replace("Z", "+00:00")).timestamp()
            starts.append((begun, message.wall))
    out = []
    for alert in scenario.truth.alerts:
        truth_start = started_at + alert.start_frame / scenario.fps
        truth_end = started_at + alert.end_frame / scenario.fps
        matches = [arrived for begun, arrived in starts if truth_start - 3 <= begun <= truth_end]
        if matches:
            out.append(1000 * (min(matches) - truth_start))
    return out


if __name__ == "__main__":
    main()
