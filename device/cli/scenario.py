"""`doorbell scenario list|render|truth`: look at what the emulated camera feeds CI."""

from __future__ import annotations

import json
from pathlib import Path

import av
import click
import cv2
import numpy as np

from doorbell.device.cli.options import fail
from doorbell.device.emulation.scenarios import (
    FrameTruth,
    Scenario,
    ScenarioError,
    list_scenarios,
    load_scenario,
)
from doorbell.device.recording.mp4_writer import Mp4Writer

BOX_COLOUR = (0, 255, 255)  # BGR yellow: visible on grass, sky and the IR grey


def _load(name: str, seed: int | None = None) -> Scenario:
    try:
        return load_scenario(name, seed)
    except ScenarioError as exc:
        fail(str(exc))


def _frame_count(s: Scenario, duration: float | None) -> int:
    if duration is not None:
        return max(1, round(duration * s.fps))
    if s.frame_count is None:
        fail(f"{s.name} is endless: give --duration SECONDS")
    return s.frame_count


def draw_boxes(image: np.ndarray, truth: FrameTruth) -> None:
    height, width = image.shape[:2]
    for actor in truth.actors:
        x, y, w, h = actor.box
        p0 = (int(x * width), int(y * height))
        p1 = (int((x + w) * width) - 1, int((y + h) * height) - 1)
        cv2.rectangle(image, p0, p1, BOX_COLOUR, 2)
        label = (p0[0] + 2, max(12, p0[1] - 4))
        cv2.putText(image, actor.name, label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, BOX_COLOUR)


@click.group("scenario")
def scenario_group() -> None:
    """The scripted scenes behind `--camera synthetic:NAME`."""


@scenario_group.command("list")
def list_cmd() -> None:
    """Name, kind, length and description of each built-in scenario."""
    for name in list_scenarios():
        s = load_scenario(name)
        length = "endless" if s.duration is None else f"{s.duration:g} s"
        click.echo(f"{name:<16} {s.kind:<12} {length:>8}  {s.description}")


@scenario_group.command("render")
@click.argument("name")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="MP4 file.")
@click.option("--boxes", is_flag=True, help="Draw the ground-truth boxes and names.")
@click.option("--seed", type=int, help="Another seed than the scenario's own.")
@click.option(
    "--duration", type=click.FloatRange(min=0.1), help="Seconds (required for endless scenes)."
)
def render_cmd(
    name: str, output: Path, boxes: bool, seed: int | None, duration: float | None
) -> None:
    """Write a scenario (NAME or PATH.yaml) as an H.264 MP4."""
    s = _load(name, seed)
    count = _frame_count(s, duration)
    try:
        output.open("wb").close()  # PyAV opens the file only with the first packet: ask now
        writer = Mp4Writer(output, s.fps, (s.width, s.height))
    except (OSError, av.FFmpegError) as exc:
        fail(f"cannot write {output}: {getattr(exc, 'strerror', None) or exc}")
    with writer:
        for seq in range(count):
            main, _ = s.render(seq)
            if boxes:
                draw_boxes(main, s.frame_truth(seq))
            writer.write(main)
    click.echo(f"wrote {output}: {count} frames, {s.width}x{s.height} at {s.fps:g} fps")


@scenario_group.command("truth")
@click.argument("name")
@click.option("--seed", type=int, help="Another seed than the scenario's own.")
@click.option(
    "--duration", type=click.FloatRange(min=0.1), help="Seconds (required for endless scenes)."
)
def truth_cmd(name: str, seed: int | None, duration: float | None) -> None:
    """The ground truth as JSON: actors' boxes per frame and the events that should alert."""
    s = _load(name, seed)
    count = _frame_count(s, duration)
    truth = s.truth if count == s.frame_count else s.ground_truth(count)
    doc = {
        "name": s.name,
        "kind": s.kind,
        "description": s.description,
        "fps": s.fps,
        "width": s.width,
        "height": s.height,
        "seed": s.seed,
        "frame_count": count,
    }
    click.echo(json.dumps(doc | truth.to_json()))
