"""Shared building blocks for the configuration sections."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are re-checked on set.

    Strict: a boolean is not a number and text is not an integer (`threshold: true` would
    otherwise become 1, `min_frames: "3"` 3). Numbers from `--set` and the environment arrive as
    numbers already (they are parsed as YAML scalars). The few types that must come from text are
    loosened one by one below."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


_LAX = Strict(False)

Switch = Annotated[bool, _LAX]
"""true/false; also the YAML 1.1 words on/off/yes/no, which the docs promise a boolean takes."""

FilePath = Annotated[Path, _LAX]
"""A path, written as text in YAML, the environment or a flag."""

Point = Annotated[
    tuple[
        Annotated[float, Field(ge=0.0, le=1.0)],
        Annotated[float, Field(ge=0.0, le=1.0)],
    ],
    _LAX,  # YAML and JSON give [x, y] as a list; the coordinates themselves stay strict
]


def _segments_cross(
    a: tuple[float, float], b: tuple[float, float], c: tuple[float, float], d: tuple[float, float]
) -> bool:
    def orient(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    d1, d2 = orient(c, d, a), orient(c, d, b)
    d3, d4 = orient(a, b, c), orient(a, b, d)
    return ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4)


def _check_polygon(points: list[Point]) -> list[Point]:
    if len(points) < 3:
        raise ValueError("a polygon needs at least 3 points")
    area2 = sum(
        points[i][0] * points[(i + 1) % len(points)][1]
        - points[(i + 1) % len(points)][0] * points[i][1]
        for i in range(len(points))
    )
    n = len(points)
    # Crossing edges first: a symmetric bow-tie's signed area is zero too, and "crossing" is
    # what the user needs to hear.
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # neighbouring edges share a corner
            if _segments_cross(points[i], points[(i + 1) % n], points[j], points[(j + 1) % n]):
                raise ValueError(f"polygon is self-intersecting (edges {i} and {j} cross)")
    if abs(area2) < 1e-9:
        raise ValueError("polygon has no area (its points lie on one line)")
    return points


Polygon = Annotated[list[Point], AfterValidator(_check_polygon)]
"""Normalised polygon: 3+ [x, y] points with 0 <= x, y <= 1, edges not crossing."""


class NamedPolygon(Section):
    name: str = Field(min_length=1, max_length=64)
    points: Polygon
