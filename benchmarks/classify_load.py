"""What checking the shipped fp16 model against its pin costs the device as it starts: the time
of `open_classifier` with the default config (the installed model, as a device opens it) with the
check and without it (`fp16_problem_once` made to pass without hashing, as before the check), and
the hash alone. Each measure runs in a fresh interpreter that has imported numpy and OpenCV (as the
device has), the variants interleaved round by round, so a busy machine slows both alike.

Usage: python benchmarks/classify_load.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

VARIANTS = ("checked", "unchecked")

_ONE = """
import json, sys, time
import cv2, numpy
from doorbell.config.classify import ClassifyConfig
from doorbell.device.classify import model_file
from doorbell.device.classify.int8_weights import fp16_problem
from doorbell.device.classify.model_paths import default_model
if sys.argv[1] == "unchecked":
    model_file.fp16_problem_once = lambda model: None
began = time.perf_counter()
classifier = model_file.open_classifier(ClassifyConfig())
opened = time.perf_counter() - began
assert classifier is not None, "no classifier: ./dev.sh install"
began = time.perf_counter()
assert fp16_problem(default_model()) is None
print(json.dumps({"open_ms": 1000 * opened, "hash_ms": 1000 * (time.perf_counter() - began)}))
"""


def _measure(variant: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _ONE, variant], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    opts = parser.parse_args()
    seen: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    for _ in range(opts.rounds):
        for variant in VARIANTS:
            seen[variant].append(_measure(variant))
    for variant in VARIANTS:
        opened = sorted(m["open_ms"] for m in seen[variant])
        print(
            f"open_classifier {variant:9s}: {opened[0]:6.1f} to {opened[-1]:6.1f} ms, "
            f"median {opened[len(opened) // 2]:6.1f} ms ({opts.rounds} fresh processes)"
        )
    hashed = sorted(m["hash_ms"] for v in VARIANTS for m in seen[v])
    print(f"sha256 of the fp16 file alone: {hashed[0]:.1f} to {hashed[-1]:.1f} ms")


if __name__ == "__main__":
    main()
