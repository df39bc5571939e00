"""Which boxes to fill in which frame of a clip, from what was found in the frames looked at.
Pure: boxes in, boxes out (redaction.py decodes, detects, fills and encodes).

Faces: a face found in frame k is filled in the frames around k (`reach` each way), so a face the
detector misses for a frame or two, or in the frames it does not look at, is still covered.

Heads: people are looked for less often (a person detector costs more than the face detector's
look); a person whose face is not found (turned away, far off, too small for the face model)
gets the top of their box filled, the head, enlarged. A person walks, so between two looks a
head seen in both is moved along the straight line between where it was and where it is;
one seen in only one look is held there for `hold` frames.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

Box = tuple[int, int, int, int]

HEAD_SHARE = 0.3  # of a person's box, from its top: the head (with a raised hood, a hat)
HEAD_GROW = 0.2  # each side of the head's region grows by this share of its size
HEAD_ABOVE = 0.1  # of the person's height: the region reaches this far above the box
MATCH_IOU = 0.1  # two looks' heads this much overlapping (or closer) are the same head


def head_region(person: Box, width: int, height: int) -> Box:
    """The top `HEAD_SHARE` of a person's box, the box's width, grown by `HEAD_GROW` of its
    size, and upwards by `HEAD_ABOVE` of the person's height (a detector's box often cuts the
    top of the head off)."""
    x0, y0, x1, y1 = person
    top_h = (y1 - y0) * HEAD_SHARE
    dx, dy = (x1 - x0) * HEAD_GROW, top_h * HEAD_GROW
    return (
        max(0, int(x0 - dx)),
        max(0, int(y0 - (y1 - y0) * HEAD_ABOVE)),
        min(width, int(x1 + dx + 0.999)),
        min(height, int(y0 + top_h + dy + 0.999)),
    )


def faceless_heads(
    people: Sequence[Box], faces: Sequence[Box], width: int, height: int
) -> list[Box]:
    """The head regions of the people in whose head no face was found (a found face is filled
    already, in its own box)."""
    heads = []
    for person in people:
        head = head_region(person, width, height)
        if not any(_centre_inside(face, head) for face in faces):
            heads.append(head)
    return heads


def covers(
    frames: int,
    faces_at: Mapping[int, Sequence[Box]],
    heads_at: Mapping[int, Sequence[Box]],
    reach: int,
    hold: int,
) -> list[list[Box]]:
    """The boxes to fill in each of `frames` frames. `faces_at`: the faces found in the frames
    looked at for faces (each covers `reach` frames each way); `heads_at`: the faceless heads in
    each frame looked at for people, every such frame present (an empty list: nobody there)."""
    out: list[list[Box]] = [[] for _ in range(frames)]
    for k, faces in faces_at.items():
        for i in range(max(0, k - reach), min(frames, k + reach + 1)):
            out[i].extend(faces)
    looks = sorted(heads_at)
    for k in looks:
        out[k].extend(heads_at[k])
    for a, b in itertools.pairwise(looks):
        pairs, only_a, only_b = _matched(heads_at[a], heads_at[b])
        for i in range(a + 1, b):
            t = (i - a) / (b - a)
            out[i].extend(_between(x, y, t) for x, y in pairs)
            out[i].extend(only_a if i - a <= hold else [])
            out[i].extend(only_b if b - i <= hold else [])
    if looks:  # before the first look and after the last: held
        first, last = looks[0], looks[-1]
        for i in range(max(0, first - hold), first):
            out[i].extend(heads_at[first])
        for i in range(last + 1, min(frames, last + hold + 1)):
            out[i].extend(heads_at[last])
    return out


def _matched(
    a: Sequence[Box], b: Sequence[Box]
) -> tuple[list[tuple[Box, Box]], list[Box], list[Box]]:
    """Greedy pairs, most overlapping first; what is left on each side."""
    scored = sorted(
        ((_iou(x, y), i, j) for i, x in enumerate(a) for j, y in enumerate(b)), reverse=True
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for iou, i, j in scored:
        if iou < MATCH_IOU:
            break
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((a[i], b[j]))
    rest_a = [x for i, x in enumerate(a) if i not in used_a]
    rest_b = [y for j, y in enumerate(b) if j not in used_b]
    return pairs, rest_a, rest_b


def _between(a: Box, b: Box, t: float) -> Box:
    """Box `a` moved a share `t` of the way to box `b`, each edge on its own line; as large as
    the larger of the two, so a head moving faster than the line is still inside."""
    x0, y0, x1, y1 = (round(p + (q - p) * t) for p, q in zip(a, b, strict=True))
    w = max(a[2] - a[0], b[2] - b[0])
    h = max(a[3] - a[1], b[3] - b[1])
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    return (
        max(0, cx - (w + 1) // 2),
        max(0, cy - (h + 1) // 2),
        cx + (w + 1) // 2,
        cy + (h + 1) // 2,
    )


def _iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _centre_inside(inner: Box, outer: Box) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]
