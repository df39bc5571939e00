"""Commits of the device beside Debian's Motion, interleaved in one run (issue 31).

A change to the pipeline's CPU or memory is judged against the commit before it on the same
machine at the same time: each commit's `device/`, `motion/`, `uplink/` and `config/` are
exported (`git archive`) into a temporary tree that is put first on PYTHONPATH, so `python -m
doorbell.device` runs that commit's code with this checkout's libraries. Each round runs, on real
footage (OpenCV's vtest.avi, `benchmarks/real_footage.py`), every case for each commit back to
back (BEFORE, AFTER, then any --also), Motion in the middle:
  (a) pass-through (no mask) and (b) masked (re-encoded), at --speed max: CPU per frame of the
      whole run (start-up included) and without start-up (a one-frame run's subtracted);
  the same two in real time at the file's rate: steady CPU per frame and share of a core;
  peak private memory (RssAnon) and file pages (RssFile) of each;
and prints each figure beside Motion's real-time CPU per frame from the same round.

Usage: python benchmarks/before_after.py BEFORE AFTER [--also REV ...] [--rounds 3]
       [--seconds 20] [--size 768x576 --size 1280x720]   (git revisions of this checkout)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.against_motion import (  # noqa: E402
    Footage,
    Usage,
    beyond_start,
    ensure_motion,
    ratio,
    real_footage,
    run_motion,
    run_ours,
    run_ours_live,
)
from benchmarks.pipeline import run_device  # noqa: E402
from benchmarks.real_footage import frame_size  # noqa: E402
from tests.support.broker import MosquittoBroker  # noqa: E402

PACKAGES = ("device", "motion", "uplink", "config")


def export(revision: str, into: Path) -> Path:
    """REVISION's packages as an importable `doorbell` namespace under INTO, compiled as an
    installed wheel would be; the directory to put on PYTHONPATH."""
    source = into / "src"
    source.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, *PACKAGES], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    namespace = into / "path" / "doorbell"  # no __init__: a namespace, as the install makes it
    namespace.mkdir(parents=True)
    for name in PACKAGES:
        (namespace / name).symlink_to(source / name)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(source)], check=True)
    return into / "path"


class Variant:
    """One commit's device: its cases run with its tree first on PYTHONPATH."""

    def __init__(self, label: str, path: Path, common: list[str]) -> None:
        self.label, self.path, self.common = label, path, common

    def __enter__(self) -> Variant:
        self._saved = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = str(self.path)
        return self

    def __exit__(self, *_: object) -> None:
        if self._saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = self._saved


def one_round(
    variants: list[Variant], motion: str, footage: Footage, work: Path, seconds: float
) -> tuple[dict[str, Usage], Usage]:
    """Every case of every variant, the same case of each back to back; Motion in the middle."""
    got: dict[str, Usage] = {}
    one_frame = max(0.1, 1 / footage.fps)

    def each(case: str, run: Callable[[Variant, Path], Usage]) -> None:
        for variant in variants:
            with variant:
                where = work / f"{variant.label}-{case}"
                got[f"{variant.label} {case}"] = run(variant, where)

    for masked, case in ((False, "a"), (True, "b")):
        each(
            f"max {case}",
            lambda v, w, m=masked: run_ours(run_device, v.common, footage, w, m, 4 * seconds),
        )
        each(
            f"start {case}",
            lambda v, w, m=masked: run_ours(run_device, v.common, footage, w, m, one_frame),
        )
    each("live a", lambda v, w: run_ours_live(v.common, footage, w, False, seconds))
    theirs = run_motion(motion, footage, seconds)
    each("live b", lambda v, w: run_ours_live(v.common, footage, w, True, seconds))
    return got, theirs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--also", action="append", default=[], help="A third commit, ...")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0, help="Real-time seconds a run.")
    parser.add_argument(
        "--size", type=frame_size, action="append", help="768x576 (default) and/or 1280x720."
    )
    opts = parser.parse_args()
    sizes = opts.size or [(768, 576)]
    motion = ensure_motion()
    with tempfile.TemporaryDirectory(prefix="before-after-") as tmp:
        work = Path(tmp)
        broker = MosquittoBroker(work / "broker")
        broker.start()
        common = ["--broker", broker.url, "--device-id", "bench", "--log-level", "WARNING"]
        common += ["--set", "web.listen=null"]
        named = [("before", opts.before), ("after", opts.after)]
        named += [(f"also{n + 1}", rev) for n, rev in enumerate(opts.also)]
        variants = [Variant(label, export(rev, work / label), common) for label, rev in named]
        said = ", ".join(f"{label} = {rev}" for label, rev in named)
        print(f"{said}; {opts.rounds} round(s)", flush=True)
        try:
            for footage in real_footage(sizes):
                for round_ in range(opts.rounds):
                    here = work / f"{footage.width}r{round_}"
                    got, theirs = one_round(variants, motion, footage, here, opts.seconds)
                    print(f"  {footage.label}, round {round_ + 1}: motion {theirs}", flush=True)
                    for variant in variants:
                        name = variant.label
                        for case in ("a", "b"):
                            fast, start = got[f"{name} max {case}"], got[f"{name} start {case}"]
                            live = got[f"{name} live {case}"]
                            steady = beyond_start(fast, start)
                            kind = "pass-through" if case == "a" else "masked"
                            print(
                                f"    {name:6s} {kind:12s} max {fast.ms_per_frame:.2f} ms "
                                f"({ratio(fast, theirs)}), without start-up "
                                f"{steady.ms_per_frame:.2f} ms ({ratio(steady, theirs)}), "
                                f"a one-frame run {start.cpu_seconds:.2f} s; "
                                f"real time {live} ({ratio(live, theirs)}); "
                                f"max run {fast.peaks}",
                                flush=True,
                            )
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
