"""What a share worker's person pass did, for the share's record (models.Redaction's `heads` and
person model fields): written by the pass (redaction_stages.py), read by the device once the
worker is done (redaction_worker.py). A module of its own: the worker's face and fill passes,
whose private memory is the share's peak, never import it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np


@dataclasses.dataclass(frozen=True)
class PersonPass:
    """`covered`, by the person model file the pass loaded (its sha256 and weights, `int8` or
    `fp16`; None: a model of another name), or `not_covered` and why (`no_person_model`,
    `person_model_failed`)."""

    heads: str
    person_model_sha256: str | None = None
    person_model_weights: str | None = None
    heads_reason: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, found: dict[str, Any]) -> PersonPass:
        fields = ("heads", "person_model_sha256", "person_model_weights", "heads_reason")
        values = {name: found.get(name) for name in fields}
        if not isinstance(values["heads"], str) or not all(
            v is None or isinstance(v, str) for v in values.values()
        ):
            raise ValueError(f"not a person pass: {found!r}")
        return cls(**values)  # type: ignore[arg-type]


NO_PERSON_MODEL = PersonPass("not_covered", heads_reason="no_person_model")
PERSON_MODEL_FAILED = PersonPass("not_covered", heads_reason="person_model_failed")


class ModelPersonFinder(Protocol):
    """A person finder (redaction.py's PersonFinder) that says which model file it runs: the
    share worker's, whose record names the model that found the people."""

    model_sha256: str  # of the file loaded
    weights: str | None  # `int8` | `fp16`; None: a model of another name

    def people(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]: ...
