"""Telling a change of light from a change of scene, block by block.

Light (a porch lamp, a cloud, auto-exposure, the IR switch, headlights) multiplies the brightness
of a region and keeps its texture: within a block, current ~= gain * background. A visitor
replaces the texture: no single gain explains the block. So each block gets a gain (ratio of
means) and a residual (how badly that gain explains it). Blocks with a small residual are lit
differently, and are compensated; the others keep the frame's typical gain, so a person who fills
most of the frame still shows up: a large change is not by itself a lighting change.

A flat block (a plain door, a clear sky) says nothing about texture: any gain explains it. Such
a block counts as lit only if its gain agrees with its neighbourhood's, since light varies
smoothly while a plain-coloured coat over a plain path does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

# A measurement of the background's texture serves this many judgements, within TEXTURE_STALE
# frames of it (issue 27's fourth round: counted in frames alone, every 4, it was measured again
# for 79 of vtest's 86 judgements, which come a few frames apart, and its 6 calls were a sixth
# of a judged frame, the slowest 1 %). 33 frames: just over two of the REJUDGE_FRAMES a verdict
# on a visitor stands for, so that the judgements as verdicts run out, 16 frames apart in a busy
# scene now that the verdict follows the visitor, share it (ninth round: with 15 it was measured
# again on 33 / 34 / 37 of highway-overlay's / highway-trees' / vtest's 60 / 55 / 44 judgements,
# with 33 on 18 / 16 / 15; the quality benchmark unchanged).
TEXTURE_EVERY = 4
TEXTURE_STALE = 33
# Block gains all within this of 1: no compensation. 2 % is 4 levels at 200, far below any
# threshold, and a slow drift is still compensated, in steps of 2 %.
STEADY = 0.04
# At most this many blocks off by less than SLIGHT_GAIN, where nothing else changed, are not a
# change of light: judged as one, they were a third of real highway frames (leaves, car edges:
# most by 4-5 %), each the frame's slowest. A change of light spans more blocks or more gain.
SLIGHT_BLOCKS = 2
SLIGHT_GAIN = 0.08
# A block judged "scene, not light" stays so (with its neighbours) for this many frames while
# nothing else changes, counted again from each time the verdict follows the visitor into new
# blocks (tenth round: judgements per 600 real frames 60 -> 47 on highway-overlay, 54 -> 42 on
# highway-trees, 44 -> 22 on vtest): a visitor moving about need not be judged again every
# frame, and what stays where it is (a lamp-lit patch) is judged again when they are out.
# (Issue 27's fifth round: 8 -> 16 took judgements per 600 real frames 110 -> 98 on
# highway-overlay, 97 -> 77 on highway-trees, 86 -> 58 on vtest; each is a frame's slowest step,
# 250-700 us behind other detectors. A change of light elsewhere in the frame is still judged at
# once.)
REJUDGE_FRAMES = 16
# Blocks off outside that verdict, each near it (FOLLOW_REACH) and at most this many, are the
# visitor moving on (a car or a pedestrian into the next blocks: on the real clips nearly every
# judgement found 1-5 such blocks and no light changed). A change of light reaches further: a
# lamp or headlights light more of the frame than that, away from where a visitor is.
FOLLOW_BLOCKS = 8
# However long it follows a visitor, a verdict stands at most this many frames after its
# judgement (every frame counted, quiet ones too, as for REJUDGE_FRAMES): a patch lit beside traffic
# that keeps moving on is judged within about 3 s at 15 fps. (Tenth round: uncapped, verdicts
# stood up to 56 / 46 / 116 frames on highway-overlay / highway-trees / vtest; capped at 48 the
# judgements per 600 frames are 46 / 42 / 27 for 47 / 42 / 22, at 32 48 / 46 / 30.)
FOLLOW_FRAMES = 3 * REJUDGE_FRAMES
# ... and "next to it" is within this many blocks of it (its blocks with their neighbours): a
# visitor's blocks are not all off (a coat the colour of the wall behind it is explained by a
# gain), so where they move on a block may lie between (issue 27's twelfth round: judgements
# per 600 real frames 46 -> 31 on highway-overlay, 42 -> 33 on highway-trees, 27 -> 23 on
# vtest, the light scenes' as before; motion_quality.py the same but for highway-trees' motion
# frames, 92.3 -> 89.6 % (frames 1241-1289, all but two of them with a patch of tree shadow
# on the kerb as their only region), and foliage_visitor's onset -3 -> -4; at 3 blocks
# 26 / 33 / 19, but a lamp three blocks from a visitor, tests/test_lighting.py, would wait for
# the verdict to run out).
FOLLOW_REACH = 2
_FOLLOW = np.ones((2 * FOLLOW_REACH + 1,) * 2, np.uint8)
_NEIGHBOURS = np.ones((3, 3), np.uint8)
_SMOOTH_LOW, _SMOOTH_HIGH = float(np.exp(-0.1)), float(np.exp(0.1))
UNIFORM = 0.03  # block gains this close together are applied as one gain (error <= 1.5 %)
# A change of light is even when at least this share of blocks is lit and their gains differ by
# at most this share of the change (leaves swaying under a cloud still vary by several percent).
EVEN_LIT = 0.9
EVEN_SPREAD = 0.5


@dataclass(frozen=True, slots=True)
class LightingEstimate:
    gain_map: np.ndarray | None  # per-pixel gain for the background (float32), or None:
    gain: float  # then this one gain applies everywhere (1.0: leave the background as it is)
    lit_share: float  # share of blocks whose change is explained by light alone
    global_gain: float  # the frame's typical gain
    # The whole frame changed alike (a cloud, auto-exposure, the light cut): nearly every block
    # is lit and their gains differ by far less than the change itself. Compensating is then
    # the whole story; light that varies over the picture (a lamp, headlights) is not.
    even: bool = False
    # The whole judgement ran for this frame (the slow path): work that can wait a frame
    # should (motion.detector).
    judged: bool = False


# Levels above this are white: a block gone mostly white got lighter, its texture clipped
# (whole levels: > 249.5 is >= 250). One number for the judgement's white step and its gate.
WHITE = 249.5

_UNCHANGED = LightingEstimate(None, 1.0, 1.0, 1.0)


def _within_levels(share: float) -> tuple[np.ndarray, np.ndarray]:
    """uint8 lookup tables: for a block whose background mean is v levels, the lowest and the
    highest mean of the frame's (levels) at which its gain (frame + 4) / (background + 4) is
    within `share` of 1, rounded to the nearest level (the means being whole levels too), or
    within FLOOR_LEVELS of v, whichever is wider."""
    levels = np.arange(256, dtype=np.float64)
    within = np.maximum(np.round(share * (levels + 4.0)), FLOOR_LEVELS)
    low = np.clip(levels - within, 0, 255).astype(np.uint8)
    high = np.clip(levels + within, 0, 255).astype(np.uint8)
    return low, high


# A block's mean this few levels off is no change of light worth judging, whatever its gain: far
# below any threshold (6 levels at the least, in the dark). Dark foliage flickers by 1-3 levels
# (leaves, compression blocks), 4-9 % of a block at 20-50 levels: most of highway-trees'
# judgements. Light that matters moves some block further (a lamp, headlights, a cloud at 60 %
# take a block at 20 by 8 levels and more; an even change moves the bright blocks first).
FLOOR_LEVELS = 2
_STEADY_LEVELS = _within_levels(STEADY)
_SLIGHT_LEVELS = _within_levels(SLIGHT_GAIN)
# The background's block means (and so the bounds above) move slowly (it learns a few percent
# of a difference per frame): made when the caller says (motion.detector: on its learning
# frames, where the uint8 background is made for them alone once the start-up is over, ~8 us,
# rather than on the range's frames, among which the median frame now lies), at the latest
# after this many frames, and after a judgement that compensated the background.
BOUNDS_EVERY = 4


class LightingModel:
    def __init__(
        self, size: tuple[int, int], block: int, max_residual: float, flat_std: float = 4.0
    ) -> None:
        width, height = size
        self.size = size
        self.grid = (max(1, width // block), max(1, height // block))
        # Light is smooth: judging it at half resolution costs a quarter and loses nothing.
        self.work = (max(self.grid[0], width // 2), max(self.grid[1], height // 2))
        self.max_residual = max_residual
        self.flat_std = flat_std
        # The background's texture moves slowly (learning, compensation): measured every few
        # frames, and then against the background before any change of light, which is the
        # reference a change is judged by.
        self._texture: np.ndarray | None = None
        self._calls = 0
        self._texture_at = 0  # the call that measured it: after a quiet spell it is stale
        self._texture_served = 0  # judgements it has served
        # Blocks (and their neighbours) that the last full judgement found changed by something
        # other than light, how many frames that verdict may still stand in for, and how many
        # at most (FOLLOW_FRAMES after the judgement, however often it follows the visitor).
        self._scene: np.ndarray | None = None
        # The judgement's lit blocks, from which that mask is made when a frame first needs it
        # (one with a block off): most frames after a judgement are quiet, and its making was
        # a twentieth of the judged frame, the slowest 1 % (issue 27's eleventh round).
        self._lit: np.ndarray | None = None
        self._scene_frames = 0
        self._scene_left = 0
        # Per-block bounds of the frame's block means (uint8: steady low, high; slight low,
        # high), made from the background's block means `_ref_mean` on call `_bounds_at`; the
        # slight ones only when asked for (a frame or two in ten of a busy scene).
        self._ref_mean: np.ndarray | None = None
        self._bounds: tuple[np.ndarray, ...] | None = None
        self._slight: tuple[np.ndarray, ...] | None = None
        self._bounds_at = 0

    @property
    def held(self) -> tuple[np.ndarray | None, ...]:
        """The arrays kept from frame to frame (motion.held counts them)."""
        arrays = (self._texture, self._scene, self._lit, self._ref_mean, *(self._bounds or ()))
        return arrays + (self._slight or ())

    def reset(self) -> None:
        self._texture = None
        self._scene = None
        self._lit = None
        self._bounds = None
        self._slight = None

    def _scene_mask(self) -> np.ndarray | None:
        """The blocks the last judgement found changed by something other than light, with
        their neighbours (255; as the quick test's mask `near` is combined with), made from its
        lit blocks when first asked for."""
        lit = self._lit
        if lit is not None:
            unlit = cv2.threshold(lit.view(np.uint8), 0, 255, cv2.THRESH_BINARY_INV)[1]
            self._scene, self._lit = cv2.dilate(unlit, _NEIGHBOURS), None
        return self._scene

    def _unchanged(
        self, current: np.ndarray, reference: Callable[[], np.ndarray], refresh: bool
    ) -> bool:
        """No change of light: every block's gain within STEADY of 1, or known scene, or at
        most SLIGHT_BLOCKS blocks off by less than SLIGHT_GAIN. On whole levels (block means
        rounded; the bounds per block by lookup tables from the background's means, made every
        BOUNDS_EVERY frames), in a few calls on uint8 and no numpy: each call on a frame costs
        about the same whatever it computes, its code and data being cold after the rest of a
        busy pipeline (issue 27). A block within a level of the tolerance may go either way."""
        grid = self.grid
        bounds = self._bounds
        if bounds is None or refresh or self._calls - self._bounds_at >= BOUNDS_EVERY:
            ref_mean = cv2.resize(reference(), grid, interpolation=cv2.INTER_AREA)
            self._ref_mean = ref_mean
            bounds = self._bounds = tuple(cv2.LUT(ref_mean, table) for table in _STEADY_LEVELS)
            self._slight = None
            self._bounds_at = self._calls
        # The verdict's frames run on every frame, quiet ones too: one on a visitor long gone
        # must not stand in for a lamp switched on where they stood a minute later (review).
        standing = self._scene_frames > 0
        if standing:
            self._scene_frames -= 1
            self._scene_left -= 1
        cur_mean = cv2.resize(current, grid, interpolation=cv2.INTER_AREA)
        near = cv2.inRange(cur_mean, bounds[0], bounds[1])
        settled = cv2.countNonZero(near)
        if settled == near.size:
            return True  # the usual frame of a quiet scene
        scene = self._scene_mask() if standing else None
        if scene is not None:
            known = cv2.bitwise_or(near, scene)
            settled = cv2.countNonZero(known)
            if settled == near.size:
                return True  # only where a visitor was a moment ago (or next to it)
            if (
                settled >= near.size - FOLLOW_BLOCKS
                and cv2.countNonZero(cv2.bitwise_or(near, cv2.dilate(scene, _FOLLOW))) == near.size
            ):
                # A few blocks more, each near it: the visitor (a car) moved on. The verdict
                # follows it (the blocks off now, with their neighbours), and stands for
                # REJUDGE_FRAMES again from here (within FOLLOW_FRAMES of the judgement): what
                # moves on into new blocks is no light (which stays where it fell); where nothing
                # moves on it runs out as before.
                self._scene = cv2.dilate(cv2.bitwise_not(near), _NEIGHBOURS)
                self._scene_frames = min(REJUDGE_FRAMES - 1, self._scene_left)
                return True
            near = known
        if settled < near.size - SLIGHT_BLOCKS:
            return False
        # A block or two a little off (a leaf catching the light, the edge of a car): no light
        # changed. What the background does not learn within a few frames the restless model
        # knows; a whole judgement here was most of the long tail.
        if self._slight is None:
            means = self._ref_mean
            assert means is not None  # (made with the bounds)
            self._slight = tuple(cv2.LUT(means, table) for table in _SLIGHT_LEVELS)
        slight = cv2.inRange(cur_mean, *self._slight)
        return bool(cv2.countNonZero(cv2.bitwise_or(near, slight)) == near.size)

    def estimate(
        self,
        current: np.ndarray,
        background: np.ndarray,
        reference: Callable[[], np.ndarray],
        refresh: bool = False,
    ) -> LightingEstimate:
        """`current`: uint8 luma; `background`: float32 luma of the same size; `reference`: the
        background as uint8 (rounded), asked for only when the bounds are made (the usual frame
        does not need it: issue 27's sixth round); `refresh`: make the quick test's bounds from
        it now (they are made at least every BOUNDS_EVERY frames). The quick test on whole levels
        first: where
        it finds no change of light, nothing more is done; otherwise the whole judgement (the
        lighting's slowest step; before issue 27's fourth round the same tests ran in float
        first, and after the quick test failed they found no more than 2 frames in 600
        unchanged)."""
        if self._unchanged(current, reference, refresh):
            self._calls += 1
            return _UNCHANGED
        # By OpenCV's own code, not IPP's: on a judged frame, with the rest of a busy pipeline
        # between one call and the next, IPP's first 20x15 -> 80x60 bilinear resize took 26-35
        # us, OpenCV's 11-15 (issue 27's thirteenth round; its maps differ in the last bit or so
        # of a float32). Switched off once for the whole judgement rather than around the two
        # bilinear resizes: three cv2.ipp calls (3-4 us each cold) where there were six, about 2 %
        # of a judgement (fourteenth round); its area resizes, median blur and minMaxLoc give
        # the same results either way (docs/motion.md).
        ipp = cv2.ipp.useIPP()  # (a per-thread setting: only this thread's calls are affected)
        cv2.ipp.setUseIPP(False)
        try:
            judged = self._judge(current, background)
        finally:
            cv2.ipp.setUseIPP(ipp)
        if judged.gain_map is not None or judged.gain != 1.0:
            # The background is compensated by it: the bounds are made again from it on the next
            # frame. (Not when it is left as it was, a visitor in a steady light: the next frame,
            # often catching up on work the judgement put off, need not make them, ~40 us.)
            self._bounds = None
        return judged

    def _judge(self, current: np.ndarray, background: np.ndarray) -> LightingEstimate:
        """The whole judgement (`estimate`, when the quick test found a block off)."""
        grid = self.grid
        current = cv2.resize(current, self.work, interpolation=cv2.INTER_AREA).astype(np.float32)
        background = cv2.resize(background, self.work, interpolation=cv2.INTER_AREA)
        cur_mean = cv2.resize(current, grid, interpolation=cv2.INTER_AREA)
        bg_mean = cv2.resize(background, grid, interpolation=cv2.INTER_AREA)
        # +4: dark blocks have noisy ratios; a small offset keeps them sane.
        block_gain = (cur_mean + 4.0) / (bg_mean + 4.0)
        gain_up = cv2.resize(block_gain, self.work, interpolation=cv2.INTER_LINEAR)  # (smooth)
        residual = cv2.resize(
            cv2.absdiff(current, cv2.multiply(background, gain_up)),
            grid,
            interpolation=cv2.INTER_AREA,
        )
        texture = self._texture
        self._texture_served += 1
        if (
            texture is None
            or self._texture_served > TEXTURE_EVERY
            or self._calls - self._texture_at >= TEXTURE_STALE
        ):
            self._texture_at, self._texture_served = self._calls, 1
            bg_sq = cv2.resize(background * background, grid, interpolation=cv2.INTER_AREA)
            texture = self._texture = np.sqrt(np.maximum(bg_sq - bg_mean * bg_mean, 0.0))
        self._calls += 1
        # Flat, before or after the gain: a dark coat over a plain path leaves so little texture
        # that the small residual proves nothing.
        scaled = block_gain * texture
        solid = np.minimum(texture, scaled) >= self.flat_std
        neighbourhood = cv2.medianBlur(block_gain, 5) if min(grid) >= 5 else block_gain
        # |log(gain / neighbourhood)| < 0.1, as one range test
        smooth = cv2.inRange(block_gain / neighbourhood, _SMOOTH_LOW, _SMOOTH_HIGH) > 0
        # Light keeps the texture, scaled: what is left must be small next to the scaled texture
        # (a dark coat over brick leaves about all of it), or below the noise floor.
        explained = residual <= np.maximum(self.max_residual, 0.4 * scaled)
        lit = explained & (solid | smooth)
        # Brightening past white clips the texture: a block gone mostly white got lighter.
        # (Not tested for first: some block is brighter in nearly every judged frame. Whether
        # any pixel is white is: none in 46 of highway-overlay's 46 judgements, 27 of
        # highway-trees' 42, and the light scenes' all but porch_light's one; one call for four.)
        if cv2.minMaxLoc(current)[1] > WHITE:
            brighter = block_gain > 1.05
            # (whole levels: > 249.5 is >= 250; the threshold gives the 0.0 / 1.0 in one call)
            white = cv2.threshold(current, WHITE, 1.0, cv2.THRESH_BINARY)[1]
            saturated = cv2.resize(white, grid, interpolation=cv2.INTER_AREA)
            lit |= (saturated > 0.3) & brighter
        self._scene, self._lit, self._scene_frames = None, lit, REJUDGE_FRAMES - 1
        self._scene_left = FOLLOW_FRAMES - 1
        gains = block_gain[lit]
        lit_share = gains.size / lit.size
        # the median, by partition: np.median's bookkeeping costs more than the work here (in
        # place: `gains` is a copy already, and np.partition would copy it again)
        global_gain = 1.0
        if gains.size:
            gains.partition(gains.size // 2)
            global_gain = float(gains[gains.size // 2])
        final = block_gain  # (in place: its lit gains are copied above)
        final[~lit] = global_gain
        low, high, _, _ = cv2.minMaxLoc(final)
        even = lit_share >= EVEN_LIT and high - low <= EVEN_SPREAD * abs(global_gain - 1.0)
        if high - low < UNIFORM:
            # One gain fits all (a visitor in an otherwise steady scene, or light that changed
            # evenly): no per-pixel map needed.
            gain = 0.5 * (low + high)
            gain = 1.0 if abs(gain - 1.0) < UNIFORM / 2 else gain
            return LightingEstimate(None, gain, lit_share, global_gain, even, judged=True)
        gain_map = cv2.resize(final, self.size, interpolation=cv2.INTER_LINEAR)
        return LightingEstimate(gain_map, 1.0, lit_share, global_gain, even, judged=True)
