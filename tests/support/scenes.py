"""Scenes of the tests' own (tests/data), for a synthetic camera: `synthetic:<path>`."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"

# The default porch with nobody coming: nothing moves, so a ring's clip is done its post-roll
# after the press (a visit in `porch` or `walk_up_ring` keeps it open while the visitor moves)
QUIET_PORCH = DATA / "quiet_porch.yaml"
