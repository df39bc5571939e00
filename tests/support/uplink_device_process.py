"""A device stand-in for power-cut tests: a real process with a real Uplink producing events.

usage: python -m tests.support.uplink_device_process PORT DATA_DIR FIRST COUNT (hold|drain)
Prints `added N` after each event is stored; `hold` then waits to be killed, `drain` waits until
the outbox is empty and exits 0.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from doorbell.uplink.uplink import Uplink
from tests.support.uplink_helpers import event, uplink_config


def main() -> int:
    port, data_dir, first, count, then = sys.argv[1:6]
    config = uplink_config(int(port), Path(data_dir), outbox={"rate_per_second": 1000})
    uplink = Uplink(config, Path(data_dir))
    uplink.start()
    for n in range(int(first), int(first) + int(count)):
        uplink.send_event(event(n))
        print(f"added {n}", flush=True)
    if then == "hold":
        print("holding", flush=True)
        time.sleep(3600)
        return 1
    deadline = time.monotonic() + 30
    while uplink.stats.backlog and time.monotonic() < deadline:
        time.sleep(0.05)
    backlog = uplink.stats.backlog
    uplink.stop(2.0)
    print(f"drained backlog={backlog}", flush=True)
    return 0 if backlog == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
