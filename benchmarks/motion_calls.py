"""How many OpenCV and numpy calls the detector makes per frame, and in which step (issue 27).

After Frigate and MOG2 have run (benchmarks/motion_speed.py --frigate PATH --cold) each call
starts cold: its code and data are no longer in the caches, so a frame costs about as much as
the distinct steps it takes, whatever each computes. This counts them on every frame of the real
clips (the two highway clips, OpenCV's vtest.avi): every function of cv2, the numpy functions
motion/ calls (np.where, np.maximum, ...) and ndarray methods (astype, fill, any, ...), each
charged to the motion/ function that made it. numpy's operators (a + b, a > b, a[mask]) have no
hook and are not counted. Prints per clip: calls per frame (mean, median, p90), distinct
functions per frame (median), and per step the mean calls per frame.
"""

from __future__ import annotations

import statistics
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from doorbell.config.motion import MotionConfig
from doorbell.device.emulation.scenarios.real_footage import read_luma

# numpy's functions the detector's modules call (grep 'np\.[a-z_]*(' motion/*.py)
NUMPY = [
    *("add", "copyto", "count_nonzero", "empty", "exp", "full", "full_like", "maximum"),
    *("minimum", "multiply", "ones", "partition", "round", "sqrt", "where", "zeros"),
]
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


class CallCounter:
    """Wraps cv2's and some of numpy's functions (and watches ndarray methods) while on."""

    def __init__(self, package_dir: str) -> None:
        self.package_dir = package_dir  # frames whose code lives here are the steps
        self.on = False
        self.by_step: Counter[str] = Counter()
        self.names: list[str] = []  # this frame's calls, by function
        self._saved: list[tuple[ModuleType, str, Any]] = []

    def _step(self, frame: FrameType | None) -> str:
        while frame is not None and self.package_dir not in frame.f_code.co_filename:
            frame = frame.f_back
        if frame is None:
            return "?"
        return f"{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_name}"

    def _count(self, name: str, frame: FrameType | None) -> None:
        self.by_step[self._step(frame)] += 1
        self.names.append(name)

    def _wrap(self, module: ModuleType, prefix: str, names: list[str]) -> None:
        for name in names:
            function = getattr(module, name)

            def counted(*args: Any, _f: Callable[..., Any] = function, _n: str = prefix + name,
                        **kwargs: Any) -> Any:  # fmt: skip
                if self.on:
                    self._count(_n, sys._getframe(1))
                return _f(*args, **kwargs)

            self._saved.append((module, name, function))
            setattr(module, name, counted)

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and isinstance(getattr(arg, "__self__", None), np.ndarray):
            self._count(f"ndarray.{arg.__name__}", frame)

    def __enter__(self) -> CallCounter:
        functions = [
            n
            for n in dir(cv2)
            if not n.startswith("_")
            and callable(getattr(cv2, n))
            and not isinstance(getattr(cv2, n), type)
        ]
        self._wrap(cv2, "cv2.", functions)
        self._wrap(np, "np.", NUMPY)
        return self

    def __exit__(self, *exc: object) -> None:
        for module, name, function in reversed(self._saved):
            setattr(module, name, function)

    def frame(self, process: Callable[[], object]) -> list[str]:
        """Run one frame, counting: its calls by function name."""
        self.names = []
        self.on = True
        sys.setprofile(self._profile)
        try:
            process()
        finally:
            sys.setprofile(None)
            self.on = False
        return self.names


def count(make: Callable[[], Any], package_dir: str, clips: list[tuple[str, Any, float]]) -> None:
    """Print the counts for detectors made by `make` (code in `package_dir`) on `clips`."""
    with CallCounter(package_dir) as counter:
        for label, frames, fps in clips:
            detector = make()
            counter.by_step.clear()
            calls, distinct = [], []
            for i, luma in enumerate(frames):
                names = counter.frame(lambda: detector.process(luma, i / fps))  # noqa: B023
                calls.append(len(names))
                distinct.append(len(set(names)))
            n = len(frames)
            print(
                f"{label}: calls per frame mean {sum(calls) / n:.1f}, median "
                f"{statistics.median(calls):.0f}, p90 {np.percentile(calls, 90):.0f}; distinct "
                f"functions per frame median {statistics.median(distinct):.0f}"
            )
            steps = ", ".join(f"{k} {v / n:.1f}" for k, v in counter.by_step.most_common())
            print(f"  per step: {steps}")


def main() -> None:
    from benchmarks.real_footage import vtest_original
    from doorbell.motion.detector import MotionDetector

    clips = []
    for path in (DATA / "highway-overlay.avi", DATA / "highway-trees.avi", vtest_original()):
        frames, fps = read_luma(path)
        clips.append((path.name, frames[:600], fps))
    motion_dir = str(Path(__file__).resolve().parents[1] / "motion")
    count(lambda: MotionDetector(MotionConfig(), (320, 240)), motion_dir, clips)


if __name__ == "__main__":
    main()
