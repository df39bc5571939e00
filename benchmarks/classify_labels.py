"""Event labels against ground truth (issue 26): precision and recall per label, on real footage
and on the scenes whose actors are real photographs.

Real footage, each clip's truth being what moves in it (every event of the clip should carry it):
  - OpenCV's `vtest.avi` (pedestrians, 768x576, 10 fps, 79 s; Debian's `opencv-doc`, licence
    Apache-2.0 AND BSD-3-Clause; fetched and cached by benchmarks/real_footage.py): person;
  - the highway clips of tests/data (BGSLibrary, MIT; ../shared/footage): vehicle.
Scenes (device/emulation/scenarios): each event covering a ground-truth alert whose actor has a
`label` (drawn from a real photograph) should carry it.

Two counts. Events: the label `doorbell analyze` gives each event (what an alert says). Frames:
every 10th frame with motion of the real clips, classified alone (its top label at
`classify.min_score`): more samples than events, as a long clip of constant motion (vtest) is
one or two events. An event or frame labelled `unknown` counts against the truth's recall and
in no label's precision.

Usage: python benchmarks/classify_labels.py [--no-vtest] [--no-frames] [--pi4-runtime]

--pi4-runtime: the classifier as on a CPU without fp16 arithmetic (a Pi 4): the fp32 Interpreter
with the int8 model ./dev.sh makes, instead of this CPU's fp16 CompiledModel.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.real_footage import LICENCE, vtest_original  # noqa: E402
from doorbell.config.camera import CameraConfig  # noqa: E402
from doorbell.config.classify import ClassifyConfig  # noqa: E402
from doorbell.config.motion import MotionConfig  # noqa: E402
from doorbell.device.classify import runtime  # noqa: E402
from doorbell.device.classify.classifier import Classifier  # noqa: E402
from doorbell.device.classify.labels import SCORED  # noqa: E402
from doorbell.device.classify.model_file import open_classifier  # noqa: E402
from doorbell.device.emulation.scenarios import list_scenarios, load_scenario  # noqa: E402
from doorbell.device.runtime.analysis import analyze  # noqa: E402
from doorbell.device.runtime.frame import Frame  # noqa: E402
from doorbell.device.sources import open_source  # noqa: E402
from doorbell.motion.events import EventTracker  # noqa: E402
from doorbell.motion.types import MotionResult  # noqa: E402

HIGHWAY = [
    ROOT / "tests" / "data" / "highway-trees.avi",
    ROOT / "tests" / "data" / "highway-overlay.avi",
]
Pair = tuple[str, str]  # (truth, predicted)


# `doorbell` as on a Pi 4 (no fp16 arithmetic: the fp32 Interpreter, and the int8 model where
# ./dev.sh made it), whatever this CPU does: --pi4-runtime
PI4_RUNTIME = (
    "import doorbell.device.classify.runtime as r; r.cpu_has_fp16 = lambda: False; "
    "from doorbell.device.cli import main; main()"
)
LAUNCH = ["-m", "doorbell.device"]


def analysed_events(source: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, *LAUNCH, "analyze", source, "--json", "-"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return list(json.loads(done.stdout)["events"])


def clip_pairs(clips: list[tuple[str, str]]) -> list[Pair]:
    pairs = []
    for source, truth in clips:
        labels = [e["label"] for e in analysed_events(source)]
        print(f"  {Path(source).name}: truth {truth}, {len(labels)} events: {labels}")
        pairs += [(truth, label) for label in labels]
    return pairs


def scene_pairs() -> list[Pair]:
    pairs = []
    for name in list_scenarios():
        if not any(a.label for a in load_scenario(name).scene.actors):
            continue
        events = analysed_events(f"synthetic:{name}")
        for truth in load_scenario(name).truth.alerts:
            if truth.label is None:
                continue
            covering = [
                e["label"]
                for e in events
                if e["start_frame"] <= truth.end_frame and truth.start_frame <= e["end_frame"]
            ]
            print(f"  {name}: {truth.name} truth {truth.label}, events {covering or ['(none)']}")
            pairs += [(truth.label, label) for label in covering or ["unknown"]]
    return pairs


def frame_labels(source: str, classifier: Classifier, min_score: float) -> Counter[str]:
    """The top label of every 10th frame with motion of a clip, counted."""
    found: Counter[str] = Counter()
    opened = open_source(CameraConfig(source=source, speed="max"))
    opened.open()

    def on_frame(frame: Frame, motion: MotionResult, tracker: EventTracker) -> None:
        if frame.seq % 10 == 0 and motion.boxes:
            found[classifier.classify(frame.seq, frame.main, motion.boxes).top(min_score)] += 1

    try:
        analyze(opened, MotionConfig(), on_frame)
    finally:
        opened.close()
    return found


def frame_pairs(clips: list[tuple[str, str]]) -> list[Pair]:
    cfg = ClassifyConfig()
    classifier = open_classifier(cfg)
    if classifier is None:
        raise SystemExit("the model is not installed: ./dev.sh install")
    pairs: list[Pair] = []
    for source, truth in clips:
        found = frame_labels(source, classifier, cfg.min_score)
        print(f"  {Path(source.removeprefix('file:')).name}: truth {truth}, {dict(found)}")
        pairs += [(truth, label) for label, n in found.items() for _ in range(n)]
    return pairs


def table(pairs: list[Pair], what: str) -> None:
    print(f"| label | {what} (truth) | labelled so | right | precision | recall |")
    print("|---|---|---|---|---|---|")
    for label in SCORED:
        truth = sum(t == label for t, _ in pairs)
        said = sum(p == label for _, p in pairs)
        right = sum(t == p == label for t, p in pairs)
        if not truth and not said:
            continue
        precision = f"{right / said:.2f}" if said else "-"
        recall = f"{right / truth:.2f}" if truth else "-"
        print(f"| {label} | {truth} | {said} | {right} | {precision} | {recall} |")
    unknown = sum(p == "unknown" for _, p in pairs)
    print(f"({len(pairs)} {what}, {unknown} labelled unknown)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-vtest", action="store_true", help="without the 96 MB download")
    parser.add_argument("--no-frames", action="store_true")
    parser.add_argument(
        "--pi4-runtime", action="store_true", help="the fp32 Interpreter (and int8 model) here"
    )
    opts = parser.parse_args()
    if opts.pi4_runtime:
        global LAUNCH
        LAUNCH = ["-c", PI4_RUNTIME]
        runtime.cpu_has_fp16 = lambda: False
    clips = [(f"file:{clip}", "vehicle") for clip in HIGHWAY]
    if not opts.no_vtest:
        clips.insert(0, (f"file:{vtest_original()}", "person"))
        print(f"vtest.avi: Debian opencv-doc, {LICENCE}")
    print("events of real clips (doorbell analyze):")
    real = clip_pairs([(s.removeprefix("file:"), t) for s, t in clips])
    print("events of the scenes drawn from photographs:")
    scenes = scene_pairs()
    print("\nevents, real footage:")
    table(real, "events")
    print("\nevents, real footage and scenes:")
    table(real + scenes, "events")
    if not opts.no_frames:
        print("\nframes of real clips (every 10th with motion):")
        frames = frame_pairs(clips)
        table(frames, "frames")


if __name__ == "__main__":
    main()
