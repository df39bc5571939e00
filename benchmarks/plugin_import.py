"""What the pytest plugin costs a test session that uses none of its fixtures (issue 32).

pytest imports every `pytest11` entry point into every session of an environment that has
doorbell installed. Prints the median and worst wall time of importing the plugin in a fresh
interpreter that has pytest loaded already (as a session has), over N runs, and the modules the
import adds.

Usage: python benchmarks/plugin_import.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PROBE = """
import json, sys, time
import pytest
before = set(sys.modules)
began = time.perf_counter()
import doorbell.device.emulation.pytest_plugin
took = time.perf_counter() - began
print(json.dumps({"ms": took * 1000, "added": sorted(set(sys.modules) - before)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    times, added = [], []
    for _ in range(args.runs):
        done = subprocess.run(
            [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
        )
        result = json.loads(done.stdout)
        times.append(result["ms"])
        added = result["added"]
    print(
        f"plugin import, {args.runs} fresh interpreters: median {statistics.median(times):.2f} ms, "
        f"worst {max(times):.2f} ms (goal: under 100 ms); modules it adds: {', '.join(added)}"
    )


if __name__ == "__main__":
    main()
