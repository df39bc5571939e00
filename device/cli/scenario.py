"""`doorbell scenario list|render|truth`: look at what the emulated camera feeds CI."""

from __future__ import annotations

import json
from pathlib import Path

import click
import cv2

from device.mp4_writer import Mp4Writer
from device.scenarios import ScenarioError, list_scenarios, load_scenario


def _load(name: str, seed: int | None = None):  # type: ignore[no-untyped-def]
    try:
        return load_scenario(name, seed)
    except ScenarioError as exc:
        click.echo(f"doorbell: {exc}", err=True)
        raise SystemExit(2) from None


@click.group("scenario")
def scenario_group() -> None:
    """The scripted scenes behind `--camera synthetic:NAME`."""


@scenario_group.command("list")
def list_cmd() -> None:
    """Name, kind, length and description of each built-in scenario."""
    for name in list_scenarios():
        s = load_scenario(name)
        length = "endless" if s.duration is None else f"{s.duration:.0f} s"
        click.echo(f"{name:<16} {s.kind:<12} {length:>8}  {s.description}")


@scenario_group.command("render")
@click.argument("name")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="MP4 file.")
@click.option("--boxes", is_flag=True, help="Draw the ground-truth boxes.")
@click.option("--seed", type=int, help="Another seed than the scenario's own.")
@click.option("--duration", type=click.FloatRange(min=0.1), help="Seconds (endless scenes).")
def render_cmd(
    name: str, output: Path, boxes: bool, seed: int | None, duration: float | None
) -> None:
    """Write a scenario as an H.264 MP4."""
    s = _load(name, seed)
    count = s.frame_count if duration is None else round(duration * s.fps)
    if count is None:
        raise click.UsageError(f"{name} is endless: give --duration")
    truth = s.truth.frames if boxes and s.frame_count else None
    with Mp4Writer(output, s.fps, (s.width, s.height)) as writer:
        for seq in range(count):
            main, _ = s.render(seq)
            if truth is not None and seq < len(truth):
                for actor in truth[seq].actors:
                    x, y, w, h = actor.box
                    p0 = (int(x * s.width), int(y * s.height))
                    p1 = (int((x + w) * s.width), int((y + h) * s.height))
                    cv2.rectangle(main, p0, p1, (0, 255, 255), 2)
                    cv2.putText(main, actor.name, p0, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 255, 255))
            writer.write(main)
    click.echo(f"wrote {output}: {count} frames, {s.width}x{s.height} at {s.fps:g} fps")


@scenario_group.command("truth")
@click.argument("name")
def truth_cmd(name: str) -> None:
    """The ground truth as JSON: actors' boxes per frame and the events that should alert."""
    s = _load(name)
    if s.frame_count is None:
        raise click.UsageError(f"{name} is endless: it has no finite ground truth")
    doc = {"name": s.name, "kind": s.kind, "fps": s.fps, "frame_count": s.frame_count}
    click.echo(json.dumps(doc | s.truth.to_json()))
