"""Scenario rendering speed (issue 3): frames/s per scenario at 640x480@15, main and lores,
on one core, and the factor over real time (goal >= 20x)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from device.scenarios import list_scenarios, load_scenario


def main() -> None:
    cv2.setNumThreads(1)
    rates = []
    for name in list_scenarios():
        scenario = load_scenario(name)
        count = min(scenario.frame_count or 450, 450)
        began = time.perf_counter()
        for seq in range(count):
            scenario.render(seq)
        fps = count / (time.perf_counter() - began)
        rates.append(fps)
        print(f"{name:<16} {fps:7.0f} frames/s  {fps / scenario.fps:6.1f}x real time")
    print(f"{'slowest':<16} {min(rates):7.0f} frames/s  {min(rates) / 15:6.1f}x real time")


if __name__ == "__main__":
    main()
