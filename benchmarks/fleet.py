"""Emulated doorbells one core sustains, against a local mosquitto (on the other core).

Each fleet size runs in its own process pinned to one CPU, at real time (speed 1), analysis at
1 frame/s, alerts on (away mode), scenario walk_up_ring (a visit every 30 s per device, staggered):
it is sustained when the process used less than 90 % of the core, 99 % of frames were shown less
than one analysis interval (1 s) late, and every alert was delivered. (The maximum lag is printed
too: on a machine shared with other work, single stalls of a second or two come and go.)
Memory per device is the peak-RSS slope between two fleet sizes. Then 50 devices for 60
simulated seconds (at 10x): every alert delivered, each (id, state) once after de-duplication.

usage: .venv/bin/python benchmarks/fleet.py [--sizes 100,200,400] [--duration 60]
Goals: >= 200 devices on one core; every alert delivered.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from doorbell.device.emulation.emulator import emulated_config  # noqa: E402
from doorbell.device.emulation.fleet_run import FleetPlan, run_fleet  # noqa: E402
from doorbell.device.emulation.mosquitto import MosquittoBroker  # noqa: E402


def one(port: int, devices: int, duration: float, speed: float, cpu: int | None) -> None:
    """In a child process: one fleet, its summary as JSON on the last line of stdout."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    config = emulated_config({}, port=port)
    summary = run_fleet(config, FleetPlan(devices, duration=duration, speed=speed), print)
    summary.pop("per_second")
    print(json.dumps(summary))


def fleet_in_child(
    port: int, devices: int, duration: float, speed: float, cpu: int | None
) -> dict[str, Any]:
    args = [sys.executable, __file__, "--one", str(devices), "--port", str(port)]
    args += ["--duration", str(duration), "--speed", str(speed)]
    if cpu is not None:
        args += ["--cpu", str(cpu)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def sustained(s: dict[str, Any]) -> bool:
    return (
        s["lag_p99_seconds"] < 1.0
        and (s["run_cpu_share"] or 0) < 0.9
        and s["missing"] == 0
        and not s["errors"]
    )


def line(s: dict[str, Any]) -> str:
    rate = s["alerts_delivered"] / s["run_host_seconds"] if s["run_host_seconds"] else 0
    return (
        f"{s['devices']:5d} devices: cpu {s['run_cpu_share']:.0%} of one core, lag p99 "
        f"{s['lag_p99_seconds']:.3f} s max {s['max_lag_seconds']:.3f} s ({s['late_moments']} of "
        f"{s['moments_shown']} frames over 1 s late), peak RSS {s['peak_rss_mb']:.0f} MB, "
        f"{s['alerts_delivered']} alert messages delivered ({rate:.1f}/s), missing "
        f"{s['missing']}, latency p50 {s['latency_ms']['p50']} ms p99 {s['latency_ms']['p99']} "
        f"ms -> {'sustained' if sustained(s) else 'NOT sustained'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,200,400")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--one", type=int)
    parser.add_argument("--port", type=int)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--cpu", type=int)
    args = parser.parse_args()
    if args.one:
        one(args.port, args.one, args.duration, args.speed, args.cpu)
        return
    cpus = sorted(os.sched_getaffinity(0))
    fleet_cpu = cpus[-1]
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoBroker(Path(tmp) / "broker")
        broker.start()
        if broker.proc is not None and len(cpus) > 1:
            os.sched_setaffinity(broker.proc.pid, set(cpus[:-1]))  # the broker: another core
        try:
            results = []
            for size in (int(n) for n in args.sizes.split(",")):
                s = fleet_in_child(broker.port, size, args.duration, 1.0, fleet_cpu)
                results.append(s)
                print(line(s), flush=True)
            best = max((s["devices"] for s in results if sustained(s)), default=0)
            print(f"one core sustains at least {best} devices (of sizes tried)")
            if len(results) >= 2:
                a, b = results[0], results[-1]
                per = (b["peak_rss_mb"] - a["peak_rss_mb"]) * 1024 / (b["devices"] - a["devices"])
                sizes = f"{a['devices']}->{b['devices']}"
                print(f"memory per device: {per:.0f} KB (peak RSS slope {sizes} devices)")
            check = fleet_in_child(broker.port, 50, 60.0, 10.0, fleet_cpu)
            print(
                f"50 devices x 60 simulated s: {check['alerts_raised']} alert messages raised, "
                f"{check['alerts_delivered']} delivered once each, {check['missing']} missing, "
                f"{check['duplicates']} duplicates"
            )
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
