"""Places that keep moving in place: leaves, water, a flag, a flickering light.

Per block of the analysis frame the model keeps `spread`: how far from the background the block
usually is while it keeps changing (the root mean square of the difference, in levels: a pixel's
standard deviation, as a Gaussian background model keeps it). A block learns it only while it is
active, i.e. while the frame itself changes there (measured over STEP_SECONDS): foliage swaying
back and forth is active all the time and so raises its spread within seconds. While the model
is young (its first second) it learns as a running mean, so a tree that moves from the very
first frame and covers most of it is known at once. Something that arrived and stays (a parcel,
a visitor standing at the door) differs from the background but no longer changes: its spread
does not rise, so it stays motion until the detector absorbs it. Where a block is quiet its
spread decays slowly, so the next gust finds the tree still known.

Moving in place, not moving through: leaves sway by a few pixels around where they were, so
what the frame shows in a swaying block is found in the background within a few pixels of it
(inside the background's range over WIDE x WIDE); a car, a cyclist or a walker crossing the
picture brings values the background has nowhere near. The young model holds a block's spread
only while its change is mostly explained so (the wide-range difference at most IN_PLACE of the
difference): traffic or a walker moving from the first frame is not taken for foliage. Early
on, an object already moving has moved only a little and looks like a sway; once it has gone
further than a sway goes, the blocks where it keeps showing through (REVOKE_STEPS learning
steps in a row, within the first REVOKE_SECONDS) forget the spread the young model gave them,
and it shows. (After that, learning is slow enough that passing traffic does not make a place
restless; something fluttering about in one place for seconds, a moth at the lens, is.
Issue 27's sixth round learned on every eighth frame after the start-up and let the spread
rise only where the change was in place; with it, each of ten_visits' visitors left a false
`package` far up the path, where they had come into view and gone (tests/test_packages.py), so
it was taken out.
Learning every eighth frame without that gate left a taken parcel's emptied place a speck that
was no ghost, a false package too: round 4, reverted in 1fff6a0's revert.)

The change a pixel needs to count as motion is then `K` times the spread of its neighbourhood
(3x3 blocks: a texture sways alike next door), and at least the noise threshold. A visitor who
walks into a quiet place shows at once; one who walks into the foliage shows where they differ
from it by more than the foliage differs from itself.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from doorbell.motion.difference import apart

BLOCK = 2  # analysis px per block side (4 lores px at 320x240; _rms halves once)
K = 4.0  # the change that counts, in units of a place's usual spread (RMS): 4 sigma
# While active, the spread follows the frame's difference with this time constant (a visitor
# moving about in one place for a few seconds is not learned as foliage) ...
RISE_SECONDS = 10.0
# ... and where quiet, decays with this one (a lull in the wind does not forget the tree).
FALL_SECONDS = 20.0
# A young model (its first seconds) holds the largest spread seen instead: a tree that moves
# from the first frame on, while its sway grows, is known within those seconds.
YOUNG_SECONDS = 1.0
# Frame-to-frame change is measured over at least this long: at 60 fps a swaying tree changes
# little between consecutive frames, yet no less than at 15.
STEP_SECONDS = 0.2
LEARN_EVERY = 4  # frames: the spread moves over seconds, every fourth frame is plenty
# A change counts as in place when the distance from the background's range over WIDE x WIDE
# analysis px (a sway of up to 2 px each way, 4-5 lores px at 320x240) is at most IN_PLACE
# times the distance from its 3x3 range. Measured at 160x120 on the canopy swaying 4 lores px
# with 1 px of jitter from the first frame (tests/test_motion_hard.py): with 3 it raises
# motion (three tests fail); with 7 walker_at_start is found at frame 18 instead of 14.
# (At 320x240 it was 11 lores px: 7 false-alarmed, 9 held.)
WIDE = 5
IN_PLACE = 0.5
# What the young model held is forgotten where the change shows through this many learning
# steps in a row, within this long of the start (later, learning is slow enough that passing
# traffic does not make a place restless).
REVOKE_STEPS = 2
REVOKE_SECONDS = 3.0
# A place counts as calm (its difference a sample of the sensor's noise) while K x its spread is
# under this share of the noise floor: at 160x120 a sway the floor holds still moves by several
# levels, and taken for noise it would raise the floor over the whole picture.
CALM_SHARE = 0.5
_NEIGHBOURS = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_WIDE = cv2.getStructuringElement(cv2.MORPH_RECT, (WIDE, WIDE))


def _rms(diff: np.ndarray, grid: tuple[int, int], whole: bool = False) -> np.ndarray:
    """Root mean square of a uint8 difference per block (float32; `whole`: uint8 where that is
    whole levels): a few leaves catching the sun now and then raise it as they raise a pixel's
    variance; the mean would not show them. (Squared after a 2x2 average, and averaged down by
    halves: OpenCV's area resize is fast for exact halves, and a speck of light still counts.)"""
    half = cv2.resize(diff, (diff.shape[1] // 2, diff.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if half.shape[1::-1] == grid:
        # (at 160x120 the 2x2 average is the block already, and the root of its square is
        # itself: exactly, in float32, for whole levels)
        return half if whole else half.astype(np.float32)
    square = half.astype(np.float32)
    cv2.multiply(square, square, dst=square)
    return cv2.sqrt(cv2.resize(square, grid, interpolation=cv2.INTER_AREA))


def _at_most(moved: np.ndarray, level: float) -> np.ndarray:
    """Where `moved` (an RMS, 0 or more) is at most `level`: 255, else 0. (On whole levels, at
    most its floor, by uint8's threshold: a third of a float inRange, issue 27's 14th round.)"""
    if moved.dtype == np.uint8:
        whole = int(level)
        if level - whole > 1.0 - 2.0**-10:
            # (a level within float32's rounding below the next whole one is that one, as the
            # float test, which takes the level as float32, says: up to 2**-10 below it for
            # levels under 16384; a numpy scalar only here)
            whole = int(np.float32(level))
        return cv2.threshold(moved, whole, 255, cv2.THRESH_BINARY_INV)[1]
    return cv2.inRange(moved, 0.0, level)


def _not_in_place(wide: np.ndarray, far: np.ndarray) -> np.ndarray:
    """Where the wide range's difference `wide` is more than IN_PLACE of the difference `far`
    (both `_rms`, of the same type): 255, else 0."""
    if wide.dtype == np.uint8 and IN_PLACE == 0.5:
        # (whole levels: wide > far / 2 is wide > far - wide, saturating at 0 where wide >
        # far, still true there; two uint8 calls where the float conversions, product and
        # comparison took 5-7 us, issue 27's fifteenth round)
        return cv2.compare(wide, cv2.subtract(far, wide), cv2.CMP_GT)
    return cv2.compare(
        wide.astype(np.float32, copy=False),
        far.astype(np.float32, copy=False) * np.float32(IN_PLACE),
        cv2.CMP_GT,
    )


def _wide_range(
    reference: Callable[[], np.ndarray],
    near: Callable[[], tuple[np.ndarray, np.ndarray] | None] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The background's maximum and minimum over WIDE x WIDE: from its 3x3 range when that was
    measured (a 5x5 maximum is the 3x3 maximum of the 3x3 maximum, to the picture's edge, where
    both windows are cut alike), else from the background."""
    measured = near() if near is not None and WIDE == 5 else None
    if measured is not None:
        high, low = measured
        return cv2.dilate(high, _NEIGHBOURS), cv2.erode(low, _NEIGHBOURS)
    background = reference()
    return cv2.dilate(background, _WIDE), cv2.erode(background, _WIDE)


class RestlessModel:
    """Per-block spread of the difference from the background where the frame keeps changing."""

    def __init__(self, size: tuple[int, int]) -> None:
        width, height = size
        self.size = size
        self.grid = (max(1, width // BLOCK), max(1, height // BLOCK))
        self.spread = np.zeros(self.grid[::-1], np.float32)
        self._previous: np.ndarray | None = None
        # Learning steps in a row each block's change has shown through (not in place).
        self._through = np.zeros(self.grid[::-1], np.uint8)
        self._learned = 0.0  # seconds of frames learned: the model's age
        self._previous_t = 0.0
        self._t: float | None = None
        self._pending = False  # a learning step put off to a later frame
        # K x the neighbourhood's spread (grid), its maximum, and the per-pixel threshold made
        # from it for `_floor`: kept until the spread is learned again.
        self._needed: np.ndarray | None = None
        self._needed_max = 0.0
        self._floor = -1.0
        self._thresholds = np.empty(size[::-1], np.uint8)
        # What `thresholds` last gave, given once more on the frame after a learning step
        # (`late`): made again on the next frame instead, one without periodic work.
        self._given: np.ndarray | None = None
        self.late = False
        # ... and the frame after that, if busy, may give them once more (`thresholds`' defer).
        self._may_wait = False

    @property
    def held(self) -> tuple[np.ndarray | None, ...]:
        """The arrays kept from frame to frame (motion.held counts them)."""
        return self.spread, self._through, self._thresholds, self._needed, self._previous

    def reset(self) -> None:
        self.spread.fill(0.0)
        self._through.fill(0)
        self._needed = None
        self._given = None
        self.late = self._may_wait = False
        self._previous = None
        self._pending = False
        self._learned = 0.0
        self._t = None

    @property
    def young(self) -> bool:
        """In its first YOUNG_SECONDS: learning on every frame."""
        return self._learned < YOUNG_SECONDS

    def relight(self, gain: float | np.ndarray) -> None:
        """The light changed by `gain` (one for the frame, or per analysis pixel): so did every
        difference the spread measures."""
        if isinstance(gain, np.ndarray):
            self.spread *= cv2.resize(gain, self.grid, interpolation=cv2.INTER_AREA)
        else:
            self.spread *= np.float32(gain)
        self._needed = None
        self.late = self._may_wait = False  # (made again at once: the light changed)

    def skip(self, current: np.ndarray, t: float) -> None:
        """A frame not learned from (the light is settling): the next one is compared to it."""
        self._previous, self._previous_t, self._t = current, t, t

    def due(self, frame: int, defer: bool = False) -> bool:
        """Does frame number `frame` learn (`update`)? Every LEARN_EVERY-th (frame numbers that
        are multiples of it, so that the caller knows which frames of its cycle learn), every
        one while young; `defer`: this frame is busy already, learn on the next one not busy
        instead (the caller bounds how long: motion.schedule). Young too: a start-up frame
        judged by the lighting that also learned cost 2-5x the median (issue 27's thirteenth
        round); a frame later, the sway learned is the same."""
        young = self._learned < YOUNG_SECONDS
        due = self._pending or not frame % LEARN_EVERY
        if not due and self._previous is not None and not young:
            return False
        if defer and self._previous is not None:
            self._pending = True
            return False
        self._pending = False
        return True

    @property
    def pending(self) -> bool:
        """A learning step is put off (`due` with `defer`)."""
        return self._pending

    def update(
        self,
        current: np.ndarray,
        reference: Callable[[], np.ndarray],
        diff: np.ndarray,
        t: float,
        active_level: float,
        near: Callable[[], tuple[np.ndarray, np.ndarray] | None] | None = None,
    ) -> None:
        """Learn from one frame (one `due` said so). `current`: blurred analysis luma (uint8);
        `reference`: the background it was compared with (uint8), asked for only in the first
        REVOKE_SECONDS (after that the learning frame need not make it); `diff`: its difference from
        the background's 3x3 range; `active_level`: the frame-to-frame change (RMS, levels)
        above which a block counts as changing, a little above what noise alone gives; `near`:
        the 3x3 range (maximum, minimum) of that same background, if measured (None if not),
        from which the wide range is one 3x3 step more."""
        young = self._learned < YOUNG_SECONDS
        self.late = not young
        previous = self._previous
        if previous is None or t - self._previous_t >= STEP_SECONDS:
            self._previous, self._previous_t = current, t
        dt = 0.0 if self._t is None else max(0.0, t - self._t)
        self._t = t
        if previous is None or dt <= 0.0:
            return
        self._learned += dt
        grid = self.grid
        moved = _rms(cv2.absdiff(current, previous), grid, whole=True)
        # (Masks of 255 and 0 from OpenCV's calls, not numpy's booleans: a few us each instead
        # of several, on the learning frame, the slowest of the cycle. Issue 27's eighth round.)
        quiet = _at_most(moved, active_level)
        active = cv2.bitwise_not(quiet)
        if young and not cv2.countNonZero(active):
            # Nothing changing (a calm start-up, as most are): nothing in place or through, the
            # spread and the thresholds made from it stay as they are (issue 27's thirteenth
            # round: a young frame then costs little more than a usual one).
            return
        self._needed = None  # (made again from what is learned here when next asked for)
        spread = self.spread
        if self._learned < REVOKE_SECONDS:
            # Moving in place or moving through: the wide range explains a sway, not a
            # visitor. (Later the wide range is not needed: learning is slow enough that
            # traffic passing through does not make a place restless.)
            wide = apart(current, *_wide_range(reference, near))
            far_levels = _rms(diff, grid, whole=True)
            through = _not_in_place(_rms(wide, grid, whole=True), far_levels)
            far = far_levels.astype(np.float32, copy=False)
            cv2.bitwise_and(through, active, dst=through)
            in_place = cv2.subtract(active, through)  # (through lies within active)
            counts = self._through
            # 0 where in place, one more where through (saturating: only whether a block
            # reached REVOKE_STEPS counts), and the spread forgotten where it did (x - x, in
            # OpenCV's masked call: a third of numpy's boolean indexing, every young frame)
            cv2.subtract(counts, in_place, dst=counts)
            cv2.add(counts, 1, dst=counts, mask=through)
            # (at least REVOKE_STEPS: uint8's threshold, a quarter of inRange's 4-5 us)
            revoked = cv2.threshold(counts, REVOKE_STEPS - 1, 255, cv2.THRESH_BINARY)[1]
            cv2.subtract(spread, spread, dst=spread, mask=revoked)
            if young:
                # Hold the largest: a sway that has only just begun grows for a while.
                cv2.copyTo(cv2.max(spread, far), in_place, spread)
                return
        else:
            far = _rms(diff, grid)
        rise = min(1.0, dt / RISE_SECONDS)
        fall = min(1.0, dt / FALL_SECONDS)
        # Active blocks follow the difference; quiet ones only decay: a parcel that stays is
        # far from the background but still. (Two masked running means, spread += rate x
        # (target - spread): 8 us where numpy's where/minimum/arithmetic took 21, issue 27's
        # eighth round; the learning frame is the slowest of the cycle.)
        cv2.accumulateWeighted(far, spread, rise, mask=active)
        cv2.accumulateWeighted(cv2.min(far, spread), spread, fall, mask=quiet)

    def thresholds(self, floor: float, defer: bool = False) -> np.ndarray | None:
        """Per-pixel threshold (uint8, analysis size): the larger of `floor` and K times the
        neighbourhood's spread; None where the floor holds everywhere (the usual frame). Made
        again from a spread learned since, when next asked for; but the first ask after a
        learning step once the model is young no more (`late`: the range's frame, in
        motion.detector) is given the ones from before, and the next makes them, a frame
        without periodic work, so that the learning frame, the slowest of the cycle, does not
        (issue 27's twelfth round: vtest's p99 / median 2.2 -> 1.9, its learning frames' median
        1.42x -> 1.17x the frame median; the ninth made them on the learning frame, the seventh
        on the one after, the sixth a cycle later). `defer`: this frame is busy already (the
        lighting judged it, or it runs work earlier frames put off: motion.detector): thresholds
        due two frames after a learning step are given as before once more and made on the next
        frame (issue 27's fourteenth round: they fell on ~1 % of real frames, judged ones, among
        the slowest)."""
        if self.late:
            self.late, self._may_wait = False, True
            return self._given
        if defer and self._may_wait:
            self._may_wait = False  # (once)
            return self._given
        self._may_wait = False
        if not self._learned:
            # (nothing learned yet, the first frames: the spread is 0 everywhere, and the floor
            # holds; not made from it, 15-30 us on frames that pay every step's first call)
            return None
        needed = self._make_needed()
        if self._needed_max <= floor:
            self._given = None
            return None
        # Made again only when the spread or the floor moved by a whole level: differences
        # are whole levels, so `diff > floor` and `diff > int(floor)` are the same test.
        level = float(int(floor))
        if level != self._floor:
            self._floor = level
            # min(max(needed, level), 255) to whole levels, truncated: the same as capped at 255,
            # truncated, then at least `level` (a whole level), in OpenCV's calls (6 us where
            # numpy's maximum, minimum and conversion took 10-11, every young frame; issue
            # 27's fifteenth round)
            capped = cv2.threshold(needed, 255.0, 255.0, cv2.THRESH_TRUNC)[1]
            small = cv2.max(capped.astype(np.uint8), min(level, 255.0))
            # (a new array: motion.difference knows it changed by that)
            self._thresholds = cv2.resize(small, self.size, interpolation=cv2.INTER_NEAREST)
        self._given = self._thresholds
        return self._thresholds

    def _make_needed(self) -> np.ndarray:
        """K x the neighbourhood's spread (grid), made again from a spread learned since; the
        per-pixel thresholds follow when next asked for."""
        if self._needed is None:
            # (in place and OpenCV's maximum: 10-13 and 13-15 us cold for numpy's product and
            # `ndarray.max` on the noise frame, issue 27's fourteenth round; the same values)
            needed = cv2.dilate(self.spread, _NEIGHBOURS)
            np.multiply(needed, np.float32(K), out=needed)
            self._needed, self._needed_max = needed, cv2.minMaxLoc(needed)[1]
            self._floor = -1.0
        return self._needed

    def calm(self, floor: float, step: int) -> np.ndarray | None:
        """Where no place keeps moving (bool), at every `step`-th analysis pixel each way (the
        shape of image[::step, ::step]): K x the neighbourhood's spread under CALM_SHARE of the
        floor, so that leaves whose sway the floor alone would hold are still not taken for
        the sensor's noise. None when that is everywhere. (A new array: the caller may write
        to it, motion.noise does.)"""
        # (`_needed` made again if the spread was learned since: in motion.detector it was
        # made with the thresholds right after learning, and this is one comparison)
        needed = self._make_needed()
        level = np.float32(CALM_SHARE * floor)
        if self._needed_max <= level:
            return None
        small = needed <= level
        width, height = self.size
        if (
            not step % BLOCK
            and self.grid == (width // BLOCK, height // BLOCK)
            and not (width % BLOCK or height % BLOCK)
        ):
            # (the blocks sampled directly: what the full-size mask has at those pixels)
            return small[:: step // BLOCK, :: step // BLOCK]
        full = cv2.resize(small.view(np.uint8), self.size, interpolation=cv2.INTER_NEAREST)
        return full.view(bool)[::step, ::step]
