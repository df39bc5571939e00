#!/usr/bin/env python3
"""The Raspberry Pi's budget, measured here (issue 17): memory on the Pi encoder path, and the
detector's per-frame cost scaled to a Cortex-A53 at 1 GHz by a published per-core ratio.

Memory: `doorbell`'s device with camera.source picamera2 through the stand-in
(tests/support/picamera2_standin.py) at 1280x720 main + 320x240 lores, recording on, alerts to a
real mosquitto; each figure is the peak RSS of a fresh child process (its VmHWM, not ru_maxrss:
see benchmarks/peak_memory.py). The stand-in does two things a Pi does not do in the process: it
encodes H.264 with libx264 (a Pi Zero 2 W/3/4 uses the VideoCore's encoder) and it renders the
synthetic scene (a Pi gets frames from libcamera in dmabuf buffers). Both shares are measured in
children of their own and subtracted.

CPU: the detector on 320x240 lores frames of library scenes, CPU time per frame on one thread;
scaled by (this machine's single-thread 7-Zip MIPS) / (a Pi Zero 2 W's, published: 835 MIPS at
1 GHz, Thomas Kaiser, "A quick look at RPi Zero 2 W", github.com/ThomasKaiser/Knowledge,
articles/Quick_Review_of_RPi_Zero_2_W.md). 7-Zip's R/U figure (rating per CPU usage) is used
here so a machine shared with other work is compared per CPU second, like the detector.

    python tools/pi_budget.py [--seconds 60] [--json FILE]      (needs mosquitto and 7z)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.peak_memory import wait_with_peak  # noqa: E402
from tests.support.broker import MosquittoBroker  # noqa: E402

PI_ZERO_2_W_7ZIP_MIPS = 835  # one core at 1 GHz (970 MHz measured), Kaiser (see above)
LIBCAMERA_BUFFERS = 6  # picamera2's create_video_configuration() default buffer_count

DEVICE_IMPORTS = """
import av, cv2, numpy, paho.mqtt.client, pydantic, yaml
import doorbell.device.runtime.device, device.sources.picamera2, device.recording.picamera2_stream
"""
# The stand-in module imports pytest (for its monkeypatch), which a Pi's process does not load.
IMPORTS = (
    DEVICE_IMPORTS
    + """
from tests.support import picamera2_standin
"""
)

DEVICE = (
    IMPORTS
    + """
import pytest
from doorbell.config import DoorbellConfig
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.runtime.startup import open_device
picamera2_standin.install(pytest.MonkeyPatch())
picamera2_standin.Picamera2.speed = 2.0
config = DoorbellConfig.model_validate({
    "device": {"id": "pi-budget", "data_dir": sys.argv[1]},
    "mqtt": {"port": int(sys.argv[2]), "embedded": False},
    "camera": {"source": "picamera2", "width": 1280, "height": 720, "fps": 15,
               "lores_width": 320, "lores_height": 240},
})
summary = open_device(config, RunOptions(duration=float(sys.argv[3]), echo=lambda line: None)).run()
print(summary.line(), file=sys.stderr)
"""
)

ENCODER = (
    IMPORTS
    + """
shape = (720, 1280, 3)
frames = [numpy.random.default_rng(i).integers(0, 255, shape, numpy.uint8) for i in range(4)]
encoder = picamera2_standin.H264Encoder(bitrate=1_500_000, iperiod=15, framerate=15)
encoder.output = picamera2_standin.Output()
encoder.size = (1280, 720)
encoder.start()
for n in range(int(sys.argv[1])):
    request = picamera2_standin.CompletedRequest(
        {"main": frames[n % 4]}, {"SensorTimestamp": n * 66_666_667})
    encoder.encode("main", request)
encoder.stop()
"""
)

FRAMES_ONLY = (
    IMPORTS
    + """
shape = (720, 1280, 3)
frames = [numpy.random.default_rng(i).integers(0, 255, shape, numpy.uint8) for i in range(4)]
"""
)

SCENE = (
    IMPORTS
    + """
from doorbell.config.camera import CameraConfig
from doorbell.device.emulation.synthetic_source import SyntheticSource
camera = CameraConfig(source="synthetic:walk_up_ring", width=1280, height=720, fps=15, loop=True)
with SyntheticSource("walk_up_ring", camera) as scene:
    for _ in range(int(sys.argv[1])):
        scene.read()
"""
)

DETECTOR = """
import json, statistics, time, cv2
from doorbell.config.motion import MotionConfig
from doorbell.config.camera import CameraConfig
from doorbell.device.emulation.synthetic_source import SyntheticSource
from doorbell.motion.detector import MotionDetector
cv2.setNumThreads(1)
costs = {}
for name in ("walk_up_ring", "rain", "headlights"):
    camera = CameraConfig(source=f"synthetic:{name}", width=640, height=480, fps=15)
    with SyntheticSource(name, camera) as scene:
        lores = [f.lores for f in iter(scene.read, None)]
    detector = MotionDetector(MotionConfig(), (lores[0].shape[1], lores[0].shape[0]))
    per_frame = []
    for n, luma in enumerate(lores):
        began = time.process_time()
        detector.process(luma, n / 15)
        per_frame.append(time.process_time() - began)
    per_frame.sort()
    costs[name] = {"median_ms": statistics.median(per_frame) * 1000,
                   "p95_ms": per_frame[int(len(per_frame) * 0.95)] * 1000, "frames": len(lores)}
print(json.dumps(costs))
"""


def peak_rss_mb(code: str, *args: str) -> float:
    """Run `code` in a fresh interpreter; its peak resident set in MB."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys\n" + code, *args], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    code, _, peak = wait_with_peak(proc)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    if code != 0:
        raise SystemExit(f"pi_budget: child failed: {err[-2000:]}")
    return peak


def seven_zip_mips() -> float:
    """Single-thread 7-Zip benchmark, R/U MIPS of the total (rating per CPU usage)."""
    tool = shutil.which("7z") or shutil.which("7za")
    if tool is None:
        raise SystemExit("pi_budget: 7z is missing (apt-get install p7zip-full)")
    out = subprocess.run([tool, "b", "-mmt1"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"^Tot:\s+(\d+)\s+(\d+)\s+(\d+)", out, re.MULTILINE)
    if match is None:
        raise SystemExit("pi_budget: cannot read 7z's benchmark output")
    return float(match.group(2))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of video")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    opts = parser.parse_args()
    frames = str(int(opts.seconds * 15))
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoBroker(Path(tmp) / "broker")
        broker.start()
        try:
            data = str(Path(tmp) / "data")
            figures["device_peak_mb"] = peak_rss_mb(
                DEVICE, data, str(broker.port), str(opts.seconds)
            )
        finally:
            broker.stop()
    figures["imports_mb"] = peak_rss_mb(IMPORTS)
    figures["test_harness_mb"] = figures["imports_mb"] - peak_rss_mb(DEVICE_IMPORTS)  # type: ignore[operator]
    frames_only = peak_rss_mb(FRAMES_ONLY)
    figures["libx264_mb"] = peak_rss_mb(ENCODER, frames) - frames_only
    figures["scene_mb"] = peak_rss_mb(SCENE, frames) - figures["imports_mb"]  # type: ignore[operator]
    main_frame_mb = 1280 * 720 * 3 / 2**20
    lores_mb = 320 * 240 * 3 / 2 / 2**20
    figures["libcamera_buffers_mb"] = LIBCAMERA_BUFFERS * (main_frame_mb + lores_mb)
    figures["pi_estimate_mb"] = (
        figures["device_peak_mb"]
        - figures["libx264_mb"]
        - figures["scene_mb"]  # type: ignore[operator]
        - figures["test_harness_mb"]
        + figures["libcamera_buffers_mb"]
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    detector = subprocess.run(
        [sys.executable, "-c", DETECTOR], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    figures["detector"] = json.loads(detector.stdout)
    mips = seven_zip_mips()
    figures["host_7zip_mips"] = mips
    figures["ratio_to_a53_1ghz"] = mips / PI_ZERO_2_W_7ZIP_MIPS
    print(json.dumps(figures, indent=2))
    if opts.json:
        opts.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
