"""A device stand-in for power-cut tests: a real process using the real Uplink.

python -m tests.support.uplink_producer PORT DATA_DIR COUNT FIRST [--drain]
Sends COUNT events with ids ev-FIRST... and prints `persisted N` once they are all in the
outbox; then either waits to be killed, or with --drain waits for the outbox to empty and exits.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from config import DoorbellConfig
from uplink.messages import EventMessage, iso_utc
from uplink.uplink import Uplink


def config(port: int, data_dir: Path, **uplink: object) -> DoorbellConfig:
    return DoorbellConfig.model_validate(
        {
            "device": {"id": "porch", "data_dir": str(data_dir)},
            "mqtt": {"host": "127.0.0.1", "port": port, "embedded": False},
            "uplink": uplink,
        }
    )


def event(event_id: str, device: str = "porch") -> EventMessage:
    return EventMessage(
        id=event_id, device=device, type="motion", state="start", start=iso_utc(time.time()),
        end=None, score=3.5, boxes=[[0.1, 0.2, 0.3, 0.4]], zones=[], clip=None,
    )  # fmt: skip


def main(argv: list[str]) -> int:
    port, data_dir, count, first = int(argv[0]), Path(argv[1]), int(argv[2]), int(argv[3])
    uplink = Uplink(config(port, data_dir), data_dir)
    uplink.start()
    for i in range(first, first + count):
        uplink.send_event(event(f"ev-{i:05d}"))
    print(f"persisted {count}", flush=True)
    if "--drain" in argv:
        deadline = time.monotonic() + 60
        while uplink.stats.backlog and time.monotonic() < deadline:
            time.sleep(0.05)
        print(f"backlog {uplink.stats.backlog}", flush=True)
        uplink.stop(5)
        return 0
    while True:
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
