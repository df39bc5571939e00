"""`doorbell analyze VIDEO`: the device's detector over a file or scenario, as fast as possible."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

import click
import cv2
import numpy as np

from doorbell.config import LoadedConfig
from doorbell.config.motion import MotionConfig
from doorbell.device.classify.labels import UNKNOWN
from doorbell.device.classify.model_file import open_classifier
from doorbell.device.cli.options import config_options, fail
from doorbell.device.cli.paths import check_output_file
from doorbell.device.recording.mp4_writer import Mp4Writer
from doorbell.device.runtime.analysis import Analysis, EventLabeller, analyze
from doorbell.device.runtime.frame import Frame
from doorbell.device.sources import SourceError, open_source
from doorbell.motion.events import EventTracker
from doorbell.motion.types import MotionResult


def _camera_spec(video: str) -> str:
    if video.startswith(("synthetic", "file:", "opencv:")):
        return video
    if not Path(video).is_file():
        raise SourceError(f"cannot open video {video!r}: no such file")
    return f"file:{video}"


class Annotator:
    """Writes the video with zones, boxes, the tracker's state and the open event's label so far
    drawn, for tuning."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], cfg: MotionConfig) -> None:
        self.writer = Mp4Writer(path, fps, size, preset="veryfast")
        self.size = size
        self.labeller: EventLabeller | None = None
        width, height = size
        self.zones = [
            (z.name, (np.array(z.points) * [width - 1, height - 1]).astype(np.int32))
            for z in cfg.zones
        ]

    def __call__(self, frame: Frame, result: MotionResult, tracker: EventTracker) -> None:
        image = frame.bgr()
        width, height = self.size
        for name, points in self.zones:
            cv2.polylines(image, [points], True, (255, 200, 0), 2)
            cv2.putText(image, name, tuple(points[0]), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 200, 0))
        for box in result.boxes:
            x, y = int(box.x * width), int(box.y * height)
            cv2.rectangle(
                image, (x, y), (x + int(box.w * width), y + int(box.h * height)), (0, 0, 255), 2
            )
        colour = {"idle": (200, 200, 200), "active": (0, 0, 255), "cooldown": (0, 200, 255)}
        label = f"{tracker.state} score {result.score:.1f}% thr {result.threshold:.0f}"
        if result.lighting:
            label += " light"
        if self.labeller is not None and tracker.active is not None:
            verdict = self.labeller.so_far(tracker.active)
            label += f" {verdict.label} {verdict.labels.get(verdict.label, 0.0):.2f}"
        cv2.putText(image, label, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour[tracker.state], 2)
        self.writer.write(image)


def _terminal(stdout_taken: bool) -> TextIO | None:
    """Where a progress bar may go: a terminal, never a redirected stream (nor stdout when the
    JSON goes there)."""
    if sys.stderr.isatty():
        return sys.stderr
    if not stdout_taken and sys.stdout.isatty():
        return sys.stdout
    return None


def _pyplot() -> Any:
    """matplotlib's pyplot, asked for before the analysis, not after it: without matplotlib,
    `--plot` is one line and exit 2 at once."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        fail("--plot needs matplotlib: pip install 'doorbell[plot]'")
    return plt


def _plot(analysis: Analysis, cfg: MotionConfig, path: Path, plt: Any) -> None:
    times = [i / analysis.fps for i in range(analysis.frames)]
    fig, ax = plt.subplots(figsize=(12, 4))
    ax.plot(times, analysis.scores, label="changed area (%)", linewidth=0.8)
    ax.axhline(cfg.min_area, color="red", linestyle="--", label="min_area")
    ax2 = ax.twinx()
    ax2.plot(times, analysis.thresholds, color="grey", linewidth=0.6, label="threshold")
    ax2.set_ylabel("threshold (levels)")
    for event in analysis.events:
        ax.axvspan(event.start_t, event.end_t, color="orange", alpha=0.3)
    ax.set_xlabel("seconds")
    ax.set_ylabel("changed area (%)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@click.command("analyze")
@config_options
@click.argument("video")
@click.option("--json", "json_out", help="Write results as JSON to PATH, or - for stdout.")
@click.option("--plot", type=click.Path(path_type=Path), help="Plot score and events to a PNG.")
@click.option("--annotate", type=click.Path(path_type=Path), help="Write an annotated MP4.")
@click.option("--duration", type=click.FloatRange(min=0.1), help="Only the first SECONDS.")
def analyze_cmd(
    loaded: LoadedConfig,
    video: str,
    json_out: str | None,
    plot: Path | None,
    annotate: Path | None,
    duration: float | None,
) -> None:
    """Run the motion detector over VIDEO (a file or synthetic:NAME) as fast as possible."""
    config = loaded.config
    if json_out not in (None, "-"):
        check_output_file(Path(json_out), "--json")
    pyplot = None
    if plot is not None:
        check_output_file(plot, "--plot")
        pyplot = _pyplot()
    if annotate is not None:  # PyAV opens the file only with the first packet: ask now
        check_output_file(annotate, "--annotate")
    try:
        camera = config.camera.model_copy(update={"source": _camera_spec(video), "speed": "max"})
        source = open_source(camera, start_wall=0.0)
        source.open()
    except SourceError as exc:
        fail(str(exc))
    callbacks: list[Any] = []
    annotator = None
    if annotate is not None:
        annotator = Annotator(annotate, source.fps, (source.width, source.height), config.motion)
        callbacks.append(annotator)
    total = round(duration * source.fps) if duration else getattr(source, "frame_count", None)
    progress = None
    terminal = _terminal(json_out == "-")
    if terminal is not None:
        progress = click.progressbar(length=total or 0, label="analysing", file=terminal)
        progress.__enter__()
        callbacks.append(lambda frame, result, tracker: progress.update(1))

    def on_frame(frame: Frame, result: MotionResult, tracker: EventTracker) -> None:
        for callback in callbacks:
            callback(frame, result, tracker)

    classifier = open_classifier(config.classify)  # without one: one log line, `unknown`
    labeller = EventLabeller(classifier, config.classify) if classifier else None
    if annotator is not None:
        annotator.labeller = labeller
    try:
        result = analyze(source, config.motion, on_frame if callbacks else None, duration, labeller)
    finally:
        source.close()
        if progress is not None:
            progress.__exit__(None, None, None)
        if annotator is not None:
            annotator.writer.close()
    document = result.to_json(video, config.motion)
    if json_out == "-":
        click.echo(json.dumps(document, indent=2))
    elif json_out:
        Path(json_out).write_text(json.dumps(document, indent=2) + "\n")
    if plot is not None:
        _plot(result, config.motion, plot, pyplot)
    if json_out != "-":
        click.echo(
            f"{video}: {result.frames} frames, {len(result.events)} events, "
            f"{len(result.motion_frames)} frames with motion"
        )
        for event in result.events:
            zones = ",".join(sorted(event.zones))
            label = result.verdicts.get(event.start_seq, UNKNOWN).label
            click.echo(
                f"  {event.start_t:8.2f}-{event.end_t:8.2f} s  frames {event.start_seq}-"
                f"{event.end_seq}  peak {event.peak_score:.1f}%  zones {zones}  {label}"
            )
