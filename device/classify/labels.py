"""The labels an event can carry, how a detector's classes map onto them, and the vote across
the frames classified during one event. Pure: scores in, a label out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from doorbell.config.device import EVENT_LABELS, EventLabel

Label = EventLabel
LABELS: tuple[Label, ...] = EVENT_LABELS
# What a classified frame can score: every label but `unknown`, which is what none of them is.
SCORED: tuple[Label, ...] = tuple(label for label in LABELS if label != "unknown")

# The OpenImages v4 classes of the shipped detector that name something worth an alert at a
# door. A bicycle on the move has a rider: it counts with the vehicles it shares the road with.
CLASS_LABELS: Mapping[str, Label] = {
    "Person": "person",
    "Car": "vehicle",
    "Vehicle": "vehicle",
    "Bicycle": "vehicle",
    "Cat": "animal",
    "Dog": "animal",
    "Cattle": "animal",
    "Box": "package",
}


@dataclass(frozen=True)
class FrameLabels:
    """One classified frame: the best score of each label over its crops (0 when not seen)."""

    seq: int
    scores: Mapping[Label, float] = field(default_factory=dict)

    def top(self, min_score: float) -> Label:
        """The frame's label: its best-scoring one, if it reaches `min_score`, else unknown."""
        best = max(SCORED, key=lambda label: self.scores.get(label, 0.0))
        return best if self.scores.get(best, 0.0) >= min_score else "unknown"


def frame_labels(seq: int, class_scores: Iterable[Mapping[str, float]]) -> FrameLabels:
    """Per-class scores of each crop of a frame, as label scores: the best over crops and over
    the classes that map onto a label; classes that map onto none are left out."""
    best: dict[Label, float] = {label: 0.0 for label in SCORED}
    for crop in class_scores:
        for name, score in crop.items():
            label = CLASS_LABELS.get(name)
            if label is not None and score > best[label]:
                best[label] = score
    return FrameLabels(seq, best)


@dataclass(frozen=True)
class Verdict:
    """An event's label so far and the best score each label reached in any of its frames."""

    label: Label
    labels: dict[str, float]


UNKNOWN = Verdict("unknown", {})


def vote(frames: Iterable[FrameLabels], min_score: float) -> Verdict:
    """Each frame votes for its top label (when it reaches `min_score`); the most votes win, a tie
    goes to the higher summed score. One frame's chance detection does not outvote several of a
    label seen again and again; no vote at all is `unknown`."""
    votes: dict[Label, int] = {}
    sums: dict[Label, float] = {}
    peaks: dict[Label, float] = {label: 0.0 for label in SCORED}
    any_frame = False
    for frame in frames:
        any_frame = True
        for label in SCORED:
            peaks[label] = max(peaks[label], frame.scores.get(label, 0.0))
        top = frame.top(min_score)
        if top != "unknown":
            votes[top] = votes.get(top, 0) + 1
            sums[top] = sums.get(top, 0.0) + frame.scores[top]
    if not any_frame:
        return UNKNOWN
    rounded: dict[str, float] = {label: round(score, 2) for label, score in peaks.items()}
    if not votes:
        return Verdict("unknown", rounded)
    winner = max(votes, key=lambda label: (votes[label], sums[label]))
    return Verdict(winner, rounded)
