"""`classify:` what moved, by an object detector beside the camera (docs/classify.md)."""

from __future__ import annotations

from pydantic import Field

from doorbell.config.base import FilePath, Section, Switch


class ClassifyConfig(Section):
    enabled: Switch = True
    model: FilePath | None = Field(
        None,
        description="a compatible .tflite (its label map beside it as NAME.labels.txt); "
        "None = the one ./dev.sh installs under the venv's share/doorbell/models/",
    )
    max_wait_ms: int = Field(
        1000, ge=0, le=10_000, description="the start alert waits this long for a label at most"
    )
    min_score: float = Field(0.5, gt=0.0, le=1.0, description="a frame's label counts from here")
    every_seconds: float = Field(
        3.0, ge=0.5, le=600.0, description="while an event lasts, classify a frame this often"
    )
    max_crops: int = Field(3, ge=1, le=8, description="boxes classified per frame, largest first")
    queue: int = Field(4, ge=1, le=64, description="frames waiting for the classifier")
