"""Stationary objects: a block of the frame that has stayed changed for `absorb_seconds` (a
parcel, a parked bike) is taken into the background and reported once.

Per block of ABSORB_BLOCK x ABSORB_BLOCK analysis px the model keeps the frame time since which
the block has been mostly changed (+inf where it is not). Ghosts (motion.outline) are taken in
sooner, region by region, and their blocks' timers restart: nothing arrived there.
"""

from __future__ import annotations

import cv2
import numpy as np

from doorbell.motion.resample import downscale
from doorbell.motion.types import Box

ABSORB_BLOCK = 4  # analysis px (8 lores px at 320x240): stationary objects go in by blocks

PixelBox = tuple[int, int, int, int]  # x, y, w, h in analysis px


def settles(t: float, since: float, after: float) -> bool:
    """`t - since >= after` in float32, as on the array of timers (`since` a float32 value).
    (numpy's scalars cost 3-4 us in the pipeline: in float64 unless within `near` of the line,
    which bounds what rounding t, the difference and `after` to float32 can move them by, its
    last term below float32's normal numbers)"""
    near = (abs(t) + abs(t - since) + abs(after)) * 2.0**-23 + 2.0**-126
    if abs(t - since - after) > near:
        return t - since > after
    return bool(np.float32(t) - np.float32(since) >= np.float32(after))


class StationaryBlocks:
    """How long each block has been changed; absorbs the blocks changed for long enough."""

    def __init__(self, size: tuple[int, int]) -> None:
        width, height = size
        self.size = size
        self.grid = (max(1, width // ABSORB_BLOCK), max(1, height // ABSORB_BLOCK))
        # Frame time since which each block has been mostly moving; +inf where it is not.
        self.since = np.full(self.grid[::-1], np.inf, np.float32)
        self._idle = True  # `since` is +inf everywhere
        self._started = np.empty_like(self.since)  # (reused: the timers with this frame's t)
        # At most the earliest timer (`absorb` finds it; timers restarted since only raise it),
        # so that `stayed` need not look for it; -inf: not known.
        self._earliest = -np.inf

    @property
    def held(self) -> tuple[np.ndarray, ...]:
        """The arrays kept from frame to frame (motion.held counts them)."""
        return self.since, self._started

    def reset(self) -> None:
        self.since.fill(np.inf)
        self._idle = True
        self._earliest = np.inf

    @staticmethod
    def blocks(box: PixelBox) -> tuple[slice, slice]:
        """The blocks a pixel box touches, as a slice of the block grid."""
        x, y, w, h = box
        return (
            slice(y // ABSORB_BLOCK, -(-(y + h) // ABSORB_BLOCK)),
            slice(x // ABSORB_BLOCK, -(-(x + w) // ABSORB_BLOCK)),
        )

    def stayed(self, boxes: list[PixelBox], t: float, seconds: float) -> list[bool]:
        """Has most of each box been changed for at least `seconds`? (The blocks changed since
        `t - seconds` marked once, then counted per box: one call a box, not three; none when
        no block has been changed that long, the usual case: told by the earliest timer, as
        `absorb` last found it.)"""
        if np.float32(self._earliest) > np.float32(t - seconds):
            return [False] * len(boxes)
        old = cv2.threshold(self.since, t - seconds, 255, cv2.THRESH_BINARY_INV)[1]
        answers = []
        side = ABSORB_BLOCK
        for x, y, w, h in boxes:  # (the blocks each touches, as `blocks` says)
            blocks = old[y // side : -(-(y + h) // side), x // side : -(-(x + w) // side)]
            answers.append(cv2.countNonZero(blocks) * 2 >= blocks.size)
        return answers

    def restart(self, box: PixelBox) -> None:
        """The box was taken into the background: its blocks' timers start afresh."""
        self.since[self.blocks(box)] = np.inf

    def take_in(
        self, background: np.ndarray, current: np.ndarray, contour: np.ndarray, box: PixelBox
    ) -> None:
        """The frame becomes the background inside the region (`contour`, within `box`); its
        blocks' timers restart (a ghost is not something that arrived: nothing to report)."""
        x, y, w, h = box
        area = np.zeros((h, w), np.uint8)
        cv2.drawContours(area, [contour], -1, 255, thickness=cv2.FILLED, offset=(-x, -y))
        np.copyto(
            background[y : y + h, x : x + w], current[y : y + h, x : x + w], where=area.view(bool)
        )
        self.restart(box)

    def absorb(
        self,
        changed: np.ndarray,
        current: np.ndarray,
        background: np.ndarray,
        t: float,
        after: float,
        empty: bool = False,
    ) -> tuple[Box, ...]:
        """Update the timers from `changed` (uint8 mask; `empty`: known to be all 0); copy the
        blocks changed for `after` seconds from `current` into `background`, and return them
        (normalised boxes)."""
        if empty:  # (nothing moving: every timer stops, nothing settles)
            if not self._idle:
                self.since.fill(np.inf)
                self._idle = True
            self._earliest = np.inf
            return ()
        self._idle = False
        share = downscale(changed, self.grid)  # by exact halves: OpenCV's fast path
        # (OpenCV's calls on masks of 255 and 0 rather than numpy's on booleans, and settling
        # tested on the earliest timer alone: this ran on two frames of eight, the slowest of
        # the cycle, at 22-27 us; issue 27's eighth round.)
        moving = cv2.threshold(share, 127, 255, cv2.THRESH_BINARY)[1]
        since, started = self.since, self._started
        np.minimum(since, np.float32(t), out=started)  # (t as the timers hold it)
        since.fill(np.inf)
        cv2.copyTo(started, moving, since)
        self._earliest = earliest = cv2.minMaxLoc(since)[0]
        if not settles(t, earliest, after):
            return ()
        settled = (t - since) >= after
        since[settled] = np.inf
        mask = cv2.resize(settled.view(np.uint8), self.size, interpolation=cv2.INTER_NEAREST)
        np.copyto(background, current, where=mask.view(bool))
        count, _, stats, _ = cv2.connectedComponentsWithStats(
            settled.view(np.uint8) * np.uint8(255)
        )
        width, height = self.grid
        return tuple(
            Box(x / width, y / height, w / width, h / height) for x, y, w, h, _ in stats[1:count]
        )
