"""One fleet run, start to summary: devices connected, the scene replayed for `duration`
simulated seconds, a line per second (alerts sent, acknowledged, delivered, latency, errors),
outboxes flushed, and every alert accounted for. `doorbell fleet` and `benchmarks/fleet.py` run
this; a test runs it in-process."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doorbell.config import DoorbellConfig
from doorbell.device.emulation.fleet import Fleet
from doorbell.device.emulation.fleet_meter import FleetMeter, percentile
from doorbell.device.emulation.shared_scene import SharedScene
from doorbell.device.system.memory import peak_rss_mb

Echo = Callable[[str], None]
CONNECT_SECONDS = 30.0  # the subscriber and every device, together, at most


@dataclass
class FleetPlan:
    devices: int
    scenario: str = "walk_up_ring"
    duration: float = 60.0  # simulated seconds
    speed: float = 1.0  # simulated seconds per host second
    analysis_fps: float = 1.0
    id_prefix: str = "fleet"
    root: Path | None = None  # devices' data dirs; None: a temporary dir, removed afterwards
    connect_timeout: float = CONNECT_SECONDS  # host seconds for the subscriber and the devices


def run_fleet(
    base: DoorbellConfig,
    plan: FleetPlan,
    echo: Echo = print,
    progress: Echo | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Runs the plan; returns the summary (also what `--summary-json` writes). `echo` gets a
    line per second, `progress` (a terminal) a status line rewritten in place."""
    stop = stop or threading.Event()
    cpu0, began, rss0 = time.process_time(), time.monotonic(), peak_rss_mb()
    scene = SharedScene(plan.scenario, base.motion, base.camera, plan.analysis_fps)
    echo(
        f"fleet: {plan.devices} devices, scenario {scene.name} ({scene.events} visit(s) every "
        f"{scene.period:g} s, staggered), {plan.duration:g} s at {plan.speed:g}x; "
        "record.mode: off (clips are off at fleet scale); analysis shared: "
        f"{len(scene.moments)} frames analysed once"
    )
    root = plan.root or Path(tempfile.mkdtemp(prefix="doorbell-fleet-"))
    events = base.uplink.base_topic.replace("{device_id}", "+") + "/event"
    meter = FleetMeter(base.mqtt, events)
    fleet = Fleet(base, scene, plan.devices, root, meter.alert_raised, plan.id_prefix, plan.speed)
    rss_built = peak_rss_mb()
    errors: list[str] = []
    try:
        fleet.release_descriptors()  # the subscriber's socket, too, must be one select() can watch
        # One budget for connecting: the run ends within duration / speed + connect_timeout (and
        # the shutdown's flush) however unreachable the broker is.
        connect_by = time.monotonic() + plan.connect_timeout
        subscribed = meter.start(plan.connect_timeout)
        if not subscribed:
            errors.append(f"could not subscribe to {events}")
        connected = fleet.connect(max(0.0, connect_by - time.monotonic()), stop)
        if connected < plan.devices:
            errors.append(f"{plan.devices - connected} device(s) could not connect")
        echo(f"fleet: {connected}/{plan.devices} connected to {fleet.devices[0].uplink.url}")
        if not subscribed and connected == 0:  # no broker: nothing to replay, nothing to wait for
            stop.set()
        reporter = threading.Thread(
            target=_report, args=(fleet, meter, echo, progress, stop, plan), daemon=True
        )
        run_began, cpu_run0 = time.monotonic(), time.process_time()
        reporter.start()
        fleet.run(plan.duration, stop)
        run_host, cpu_run = time.monotonic() - run_began, time.process_time() - cpu_run0
        fleet.stop(base.runtime.shutdown_seconds)
        if subscribed and not meter.wait_delivered(base.runtime.shutdown_seconds):
            errors.append(f"{meter.missing()} alert message(s) not delivered")
        stop.set()
        reporter.join(2)
        meter.acked_total(sum(d.uplink.sender.acked for d in fleet.devices))
        dropped = sum(d.uplink.outbox.dropped for d in fleet.devices)
        if dropped:
            errors.append(f"{dropped} alert(s) dropped from full outboxes")
    finally:
        stop.set()
        meter.close()
        if plan.root is None:
            shutil.rmtree(root, ignore_errors=True)
    summary = meter.summary()
    summary.update(
        devices=plan.devices,
        connected=connected,
        scenario=scene.name,
        duration=plan.duration,
        speed=plan.speed,
        analysis_fps=plan.analysis_fps,
        record_mode="off",
        frames_analysed=len(scene.moments),
        host_seconds=round(time.monotonic() - began, 2),
        run_host_seconds=round(run_host, 2),
        cpu_seconds=round(time.process_time() - cpu0, 2),
        run_cpu_share=round(cpu_run / run_host, 3) if run_host else None,
        max_lag_seconds=round(max(fleet.lag, 0.0), 3),
        lag_p99_seconds=round(percentile(fleet.lags, 99) or 0.0, 3),
        late_moments=sum(lag > 1.0 / plan.analysis_fps for lag in fleet.lags),
        moments_shown=len(fleet.lags),
        peak_rss_mb=round(peak_rss_mb(), 1),
        rss_per_device_kb=round((peak_rss_mb() - rss0) * 1024 / plan.devices, 1),
        rss_scene_and_devices_mb=round(rss_built - rss0, 1),
        errors=errors,
    )
    echo(summary_line(summary))
    return summary


def summary_line(s: dict[str, Any]) -> str:
    lat = s["latency_ms"]
    return (
        f"fleet done: {s['devices']} devices, {s['alerts_raised']} alert messages raised, "
        f"{s['alerts_acked']} acknowledged, {s['alerts_delivered']} delivered "
        f"({s['missing']} missing, {s['duplicates']} duplicates); latency p50 {lat['p50']} ms "
        f"p99 {lat['p99']} ms; max lag {s['max_lag_seconds']} s; peak RSS {s['peak_rss_mb']} MB; "
        f"errors: {'; '.join(s['errors']) or 'none'}"
    )


def _report(
    fleet: Fleet,
    meter: FleetMeter,
    echo: Echo,
    progress: Echo | None,
    stop: threading.Event,
    plan: FleetPlan,
) -> None:
    """Once a second: the last second's counts as a line, and the progress line."""
    while not stop.wait(1.0):
        meter.acked_total(sum(d.uplink.sender.acked for d in fleet.devices))
        with_second = meter.seconds[-2] if len(meter.seconds) > 1 else meter.last_second()
        s = with_second
        errors = sum(d.uplink.outbox.dropped for d in fleet.devices)
        line = (
            f"[{s.at:4d}s] sent {s.sent:4d}/s acked {s.acked:4d}/s delivered {s.delivered:4d}/s "
            f"latency p50 {percentile(s.latencies_ms, 50)} ms p99 "
            f"{percentile(s.latencies_ms, 99)} ms errors {errors}"
        )
        echo(line)
        if progress is not None:
            done = min(1.0, fleet.sim_time / plan.duration)
            progress(
                f"\r{done:6.1%} {fleet.sim_time:6.0f}/{plan.duration:g} s simulated, "
                f"{fleet.connected()}/{plan.devices} connected, "
                f"{len(meter.raised)} raised, {len(meter.delivered)} delivered, "
                f"lag {max(fleet.lag, 0.0):.2f} s "
            )
