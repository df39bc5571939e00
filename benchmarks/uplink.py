"""Uplink speed against a local mosquitto: alerts persisted and acknowledged per second, the
latency from `send_event` to PUBACK (row deleted), and the time to drain a backlog after an outage.

usage: .venv/bin/python benchmarks/uplink.py [--events 3000] [--backlog 10000] [--rate 5000]
Goals: >= 500 events/s, p50 latency <= 20 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from doorbell.uplink.uplink import Uplink  # noqa: E402
from tests.support.broker import MosquittoBroker  # noqa: E402
from tests.support.uplink_helpers import event, uplink_config  # noqa: E402


def wait_until(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.002)
    return False


def make_uplink(broker: MosquittoBroker, data_dir: Path, rate: float) -> Uplink:
    outbox = {"rate_per_second": rate, "max_messages": 100_000}
    uplink = Uplink(uplink_config(broker.port, data_dir, outbox=outbox), data_dir)
    uplink.start()
    if not wait_until(lambda: uplink.connected, 10):
        raise SystemExit("could not connect to mosquitto")
    return uplink


def throughput(broker: MosquittoBroker, work: Path, n: int, rate: float) -> None:
    uplink = make_uplink(broker, work / "throughput", rate)
    start = time.perf_counter()
    for i in range(n):
        uplink.send_event(event(i))
    stored = time.perf_counter() - start
    wait_until(lambda: uplink.sender.acked >= n, 120)
    elapsed = time.perf_counter() - start
    print(f"throughput: {n} events persisted in {stored:.2f} s ({n / stored:.0f}/s)")
    print(
        f"            persisted+acked in {elapsed:.2f} s = {n / elapsed:.0f} events/s (goal >= 500)"
    )
    uplink.stop(2.0)


def latency(broker: MosquittoBroker, work: Path, n: int, rate: float) -> None:
    uplink = make_uplink(broker, work / "latency", rate)
    added: dict[int, float] = {}
    acked: dict[int, float] = {}
    lock = threading.Lock()

    def on_acked(ids: list[int]) -> None:
        now = time.perf_counter()
        with lock:
            for i in ids:
                acked[i] = now

    uplink.sender.on_acked = on_acked
    for i in range(n):
        t0 = time.perf_counter()
        uplink.send_event(event(i))
        added[uplink.outbox.last_id()] = t0
        time.sleep(0.005)  # alerts arrive one at a time, as on a porch
    wait_until(lambda: len(acked) >= n, 30)
    lat = sorted((acked[i] - t) * 1000 for i, t in added.items() if i in acked)
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(
        f"latency:    send_event -> PUBACK over {len(lat)} events: p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, max {lat[-1]:.1f} ms (goal p50 <= 20 ms)"
    )
    uplink.stop(2.0)


def drain(broker: MosquittoBroker, work: Path, n: int, rate: float) -> None:
    uplink = make_uplink(broker, work / "drain", rate)
    broker.stop()
    wait_until(lambda: not uplink.connected, 10)
    start = time.perf_counter()
    for i in range(n):
        uplink.send_event(event(i))
    stored = time.perf_counter() - start
    broker.start()
    t0 = time.perf_counter()
    wait_until(lambda: uplink.connected, 130)
    t_conn = time.perf_counter() - t0
    wait_until(lambda: uplink.sender.acked >= n, 600)
    total = time.perf_counter() - t0
    print(
        f"drain:      {n} events stored during the outage in {stored:.1f} s; after the broker "
        f"came back: reconnected in {t_conn:.1f} s (paho backoff), all acknowledged after "
        f"{total:.1f} s ({n / max(total - t_conn, 1e-9):.0f}/s once connected; replay rate "
        f"limit {rate:.0f}/s); backlog now {uplink.stats.backlog}, dropped {uplink.stats.dropped}"
    )
    uplink.stop(2.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--latency-events", type=int, default=500)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=5000.0, help="uplink.outbox.rate_per_second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = MosquittoBroker(work / "broker")
        broker.start()
        try:
            throughput(broker, work, args.events, args.rate)
            latency(broker, work, args.latency_events, args.rate)
            drain(broker, work, args.backlog, args.rate)
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
