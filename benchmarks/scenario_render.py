"""Scenario rendering speed (issue 3): frames/s per scenario at 640x480@15, main and lores,
on one core, and the factor over real time (goal >= 20x). Then the same through the camera
(`SyntheticSource.read()`, Frame included) at 640x480 and at 1280x720 main.

    .venv/bin/python benchmarks/scenario_render.py [--frames N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from doorbell.config.camera import CameraConfig
from doorbell.device.emulation.scenarios import list_scenarios, load_scenario
from doorbell.device.sources import open_source


def render_rate(name: str, frames: int) -> tuple[float, float]:
    scenario = load_scenario(name)
    count = min(scenario.frame_count or frames, frames)
    scenario.render(0)  # the noise bank is made on first use; not part of the steady rate
    began = time.perf_counter()
    for seq in range(count):
        scenario.render(seq)
    fps = count / (time.perf_counter() - began)
    return fps, fps / scenario.fps


def camera_rate(camera: CameraConfig, frames: int) -> float:
    source = open_source(camera, start_wall=0.0)
    source.open()
    source.read()
    began = time.perf_counter()
    read = 0
    while read < frames and source.read() is not None:
        read += 1
    source.close()
    return read / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=450, help="frames per scenario (max)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)
    print("one core; main BGR + lores 320x240 luma per frame")
    rates = []
    for name in list_scenarios():
        fps, factor = render_rate(name, args.frames)
        rates.append(factor)
        print(f"{name:<16} {fps:7.0f} frames/s  {factor:6.1f}x real time")
    print(f"{'slowest':<16} {'':7}           {min(rates):6.1f}x real time (goal >= 20x)")
    hd = {"width": 1280, "height": 720}
    for label, camera in (
        ("camera 640x480", CameraConfig(source="synthetic:walk_up_ring")),
        ("camera 1280x720", CameraConfig(source="synthetic:walk_up_ring", **hd)),
        ("camera 1280x720 close_up", CameraConfig(source="synthetic:close_up", **hd)),
    ):
        fps = camera_rate(camera, args.frames)
        print(f"{label:<26} {fps:7.0f} frames/s  {fps / 15:6.1f}x real time at 15 fps")


if __name__ == "__main__":
    main()
