"""What a share worker's person pass did, for the share's record (models.Redaction's `heads` and
person model fields): written by the pass (redaction_stages.py), read by the device once the
worker is done (redaction_worker.py). A module of its own: the worker's face and fill passes,
whose private memory is the share's peak, never import it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

if TYPE_CHECKING:
    import numpy as np


# The record's codes, defined here once (models.Redaction's fields use them): never a path or an
# exception's text, the reply goes to the requester (the owner's log has the details). Here, not
# in models.py: the person pass's process reads them and never imports pydantic.
Heads = Literal["covered", "not_covered"]
# Why the heads of people whose faces were not found were not covered: the device has no person
# model (or its runtime), or the one it has could not be loaded.
HeadsReason = Literal["no_person_model", "person_model_failed"]
PersonWeights = Literal["int8", "fp16"]


@dataclasses.dataclass(frozen=True)
class PersonPass:
    """`covered`, by the person model file the pass loaded (its sha256 and weights, `int8` or
    `fp16`; None: a model of another name), or `not_covered` and why (`no_person_model`,
    `person_model_failed`)."""

    heads: Heads
    person_model_sha256: str | None = None
    person_model_weights: PersonWeights | None = None
    heads_reason: HeadsReason | None = None

    def to_json(self) -> dict[str, str | None]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, found: object) -> PersonPass:
        """The worker's report as parsed, checked: ValueError for anything but an object of the
        record's codes (a worker's report is not trusted to fit the reply's model)."""
        if not isinstance(found, dict):
            raise ValueError(f"not a person pass: {type(found).__name__}")
        values: dict[str, Any] = {name: found.get(name) for name in _FIELDS}
        for name, allowed in _CODES.items():
            if values[name] not in allowed:
                raise ValueError(f"not a person pass: {name} {values[name]!r}")
        sha256 = values["person_model_sha256"]
        if sha256 is not None and not (isinstance(sha256, str) and _SHA256.fullmatch(sha256)):
            raise ValueError(f"not a person pass: person_model_sha256 {sha256!r}")
        # one story: covered, by a model and no reason; or not covered, for a reason, by none
        covered = values["heads"] == "covered"
        if covered != (values["heads_reason"] is None) or (
            not covered and (sha256 is not None or values["person_model_weights"] is not None)
        ):
            raise ValueError(f"not a person pass: {values}")
        return cls(**values)


_SHA256 = re.compile("[0-9a-f]{64}")
_FIELDS = ("heads", "person_model_sha256", "person_model_weights", "heads_reason")
_CODES: dict[str, tuple[str | None, ...]] = {
    "heads": get_args(Heads),
    "person_model_weights": (None, *get_args(PersonWeights)),
    "heads_reason": (None, *get_args(HeadsReason)),
}


# A worker's stderr line starting with this is the owner's note on its person pass (an int8 file
# refused, a model that could not be loaded): the device logs every such line, whatever the
# passes after it wrote (the record the requester gets has only a code).
OWNER_NOTE = "person pass: "

NO_PERSON_MODEL = PersonPass("not_covered", heads_reason="no_person_model")
PERSON_MODEL_FAILED = PersonPass("not_covered", heads_reason="person_model_failed")


class ModelPersonFinder(Protocol):
    """A person finder (redaction.py's PersonFinder) that says which model file it runs: the
    share worker's, whose record names the model that found the people."""

    model_sha256: str  # of the file loaded
    weights: PersonWeights | None  # None: a model of another name

    def people(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]: ...
