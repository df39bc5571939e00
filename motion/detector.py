"""Frame differencing against a lighting-compensated, noise-aware background, on lores luma
analysed at up to resample.WORK_WIDTH px wide (320x240 at 160x120).

Per frame: halve, blur; compensate the background for changes of light (motion.lighting); the
distance from the background's 3x3 range (motion.difference), against the background moved by
the camera's shift when most of the frame changed at once (motion.shake); threshold per pixel
at the larger of k times the estimated noise (within configured bounds, the lower one scaled
with the brightness) and what the place's own restlessness needs (motion.restless: leaves); an
opening to drop rain and snow streaks, a dilation to join a body's pieces; regions above a
minimum size; the changed share of each zone. The background learns only outside moving
regions, and takes in a block that has stayed changed for `absorb_seconds` (a parcel, a parked
bike), reporting it once. A region whose outline is in the background rather than in the frame
is a ghost (someone in view at start-up or while the light changed, something that left) and is
taken in at once; a region soft on its outline and inside is a blur at the lens (an insect) and
does not count. docs/motion.md has the whole story.
"""

from __future__ import annotations

import cv2
import numpy as np

from doorbell.config.motion import MotionConfig
from doorbell.motion.difference import RangeDifference, exceeding
from doorbell.motion.focus import FocusJudge
from doorbell.motion.held import bytes_once
from doorbell.motion.lighting import LightingModel
from doorbell.motion.noise import FULL_LIGHT, SAMPLE_STEP, NoiseEstimator
from doorbell.motion.outline import ghosts
from doorbell.motion.regions import around, large_regions
from doorbell.motion.resample import downscale, work_size
from doorbell.motion.restless import LEARN_EVERY, RestlessModel
from doorbell.motion.schedule import ABSORB, NOISE, RANGE, PeriodicWork
from doorbell.motion.shake import ShakeEstimator
from doorbell.motion.stationary import PixelBox, StationaryBlocks
from doorbell.motion.types import Box, MotionResult
from doorbell.motion.zones import rasterise, watched

# An opening by 3x3 (drops specks: rain, snow) followed by a 3x3 dilation (joins a body's
# pieces) is one 3x3 erosion and one 5x5 dilation: rectangles compose. (In analysis px: at
# 320x240 a speck of up to 4 lores px goes, pieces 4 lores px apart join.)
_SPECK = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_OPEN_AND_JOIN = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
# A region that has stayed changed this long is checked (with the range, below) for being a
# ghost: an outline GHOST_RATIO times sharper in the background than in the frame. A ghost is
# taken into the background at once instead of after absorb_seconds.
GHOST_SECONDS = 0.8
GHOST_RATIO = 1.5
# ... and at least this crisp (mean levels/px on the outline; measured: ghosts of people 17-28,
# an insect's blur taken in by learning 4-7).
GHOST_MIN_EDGE = 10.0
NOISE_ALPHA = 0.1  # each measurement of the noise moves its level this share (motion.noise)
ACTIVE_MIN = 1.0  # levels: below this no place counts as changing, however clean the sensor
# The frame's typical gain this far from 1 is a change of light (a cloud, auto-exposure, a
# lamp), not the few percent swaying leaves' blocks vary by.
RELIT = 0.08


class MotionDetector:
    """Arrays and timestamps in, MotionResult out. State: the background and a few small maps."""

    def __init__(self, cfg: MotionConfig, size: tuple[int, int]) -> None:
        self.cfg = cfg
        self.size = size
        # Everything below is in analysis px: the lores frame halved (resample.WORK_WIDTH).
        self.work = work = work_size(size)
        width, height = work
        scale = width / size[0]
        # Blurs at the lens (motion.focus). (A ghost's crisp outline: GHOST_MIN_EDGE is not
        # scaled.)
        self._focus = FocusJudge(cfg.min_sharpness, scale)
        self.zones = rasterise(cfg.zones, work)
        # The blur and the lighting blocks are configured in lores px: scaled to the analysis.
        blur = max(1, round(cfg.blur * scale)) | 1
        self._blur = (blur, blur)
        self._watched = watched(self.zones)
        self._everywhere = not cfg.zones  # one zone, the whole frame: no masking needed
        self._still = np.ones((height, width), np.uint8)  # reused: where the background learns
        self._held: tuple[slice, slice] | None = None  # where `_still` is 0
        block = max(2, round(cfg.lighting_block * scale))
        self._lighting = LightingModel(work, block, cfg.lighting_residual)
        self._noise = NoiseEstimator(cfg.noise_k, cfg.threshold, cfg.threshold_max, NOISE_ALPHA)
        self._restless = RestlessModel(work)
        self._shake = ShakeEstimator(work)
        self._apart = RangeDifference()
        self._min_blob = max(1, int(width * height * cfg.min_blob / 100.0))
        self._min_trigger_px = width * height * cfg.min_area / 100.0
        self._background: np.ndarray | None = None
        self._reference: np.ndarray | None = None  # this frame's background as uint8, if made
        self._diff: np.ndarray | None = None  # this frame's difference from the range, if made
        self._stationary = StationaryBlocks(work)
        self._frames = 0
        self._schedule = PeriodicWork()  # when the work done every few frames runs
        self._busy = False  # this frame estimated a shake or checked regions for ghosts
        self._settle_until = -1.0

    def reset(self) -> None:
        """Forget the scene (background, stationary timers, verdicts); keep the noise level,
        which belongs to the sensor, not the scene. The frames count from 0 again: the noise
        waits for the young model's first cycle as at the start, not to take leaves for it."""
        self._background = None
        self._frames = 0
        self._stationary.reset()
        self._settle_until = -1.0
        self._focus.clear()
        self._lighting.reset()
        self._restless.reset()
        self._apart.forget()
        self._schedule = PeriodicWork()  # (nothing put off: the restless model's step neither)

    @property
    def state_bytes(self) -> int:
        # (This frame's uint8 background and difference too: held until the next frame.)
        held: list[object] = [self._watched, self._still, *(z.mask for z in self.zones)]
        held += [self._background, self._reference, self._diff]
        for part in (self._stationary, self._lighting, self._restless, self._apart, self._shake):
            held += part.held
        return bytes_once(held)

    def _uint8_background(self) -> np.ndarray:
        """This frame's background as uint8 (rounded), made once when first asked for."""
        if self._reference is None:
            self._reference = cv2.convertScaleAbs(self._known)
        return self._reference

    def _near_range(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The background's 3x3 range, if measured on this frame's uint8 background (the one
        `_uint8_background` gives)."""
        if self._reference is None:
            return None
        return self._apart.range_of(self._reference)

    @property
    def _known(self) -> np.ndarray:
        """The background (there from the first frame on)."""
        assert self._background is not None
        return self._background

    def _dimming(self) -> float:
        """How much darker than full light the picture is (1: not at all), by which every
        contrast measured in levels (an outline's sharpness) is lower too."""
        return min(1.0, self._noise.brightness / FULL_LIGHT)

    def _active_level(self) -> float:
        """Mean frame-to-frame change (levels) above which a place counts as changing: twice
        what the measured noise gives (|difference of two noisy frames| averages 1.13 sigma)."""
        sigma = self._noise.sigma
        return max(ACTIVE_MIN, 2.0 * sigma) if sigma is not None else ACTIVE_MIN

    def process(self, luma: np.ndarray, t: float) -> MotionResult:
        cfg = self.cfg
        if luma.shape[1::-1] != self.work:
            luma = downscale(luma, self.work)
        # (GaussianBlur: at 3x3, sigma 0, its fixed-point fast path takes 8 us at 160x120,
        # where sepFilter2D, faster at 5x5 on 320x240, takes 13.)
        blur = self._blur
        current = cv2.GaussianBlur(luma, blur, 0) if blur[0] > 1 else luma.copy()
        background = self._background
        if background is None:
            self._background = current.astype(np.float32)
            return MotionResult(t, 0.0, False, self._noise.threshold)
        self._frames += 1

        # The background as uint8 is needed only on the frames that measure something against
        # it (the range, and the noise with it; the lighting's bounds; learning in the start-up):
        # made when first asked for.
        self._reference = None
        bounds = not self._frames % LEARN_EVERY
        light = self._lighting.estimate(current, background, self._uint8_background, bounds)
        relit = abs(light.global_gain - 1.0) >= RELIT
        lighting = relit and light.lit_share >= 0.5
        # Light settles at once: the compensated background becomes the background, and when
        # the light really changed, so did every contrast the restless model learned (leaves
        # against each other; not re-scaled by the few percent leaves' blocks vary anyway).
        if light.gain_map is not None:
            np.multiply(background, light.gain_map, out=background)  # (cold: cheaper than cv2)
            self._apart.forget()
            if relit:
                self._restless.relight(light.gain_map)
        elif light.gain != 1.0:
            np.multiply(background, np.float32(light.gain), out=background)
            self._apart.scale(light.gain)
            if relit:
                self._restless.relight(light.gain)
        if lighting and not light.even:
            # Light that varies over the picture leaves edges and clipped whites to settle; an
            # even change (a cloud, auto-exposure) is compensated in full, and the next frames
            # are looked at as usual: a visitor right after it is not masked.
            self._settle_until = t + cfg.settle_seconds
        if t < self._settle_until:
            # What the gain map missed (clipped whites, edges between lit and unlit blocks) is
            # learned fast for a moment, and nothing counts as motion meanwhile.
            cv2.accumulateWeighted(current, background, 0.3)
            self._restless.skip(current, t)
            return MotionResult(t, 0.0, False, self._noise.threshold, lighting=True)
        if light.gain_map is not None or light.gain != 1.0:
            self._reference = None  # (compensated)
        # Work done every few frames waits while the lighting's whole judgement runs, a few
        # frames at most (motion.schedule).
        due = self._schedule.due(self._frames, light.judged)
        learns = self._restless.due(self._frames, defer=self._schedule.putting_off)
        self._schedule.waiting(self._restless.pending)
        apart = self._apart
        # (While the restless model is young it learns on every frame, from the difference
        # against the range: measured on each of those frames too, not on one judged, which puts
        # learning off. With the range a few frames old there, walker_at_start's onset depended
        # on the phase of the range's frame: 14 or 15 frames, by issue 27's seventh round.)
        if not apart.known or due & RANGE or (learns and self._restless.young):
            apart.measure(self._uint8_background())
        threshold = self._noise.threshold
        # (thresholds due on a frame busy already, judged or running work put off or the noise
        # moved to it, wait once)
        busy = light.judged or self._schedule.catching_up
        needed = self._restless.thresholds(threshold, defer=busy)
        # (measured on a frame that learns, which finds what changed from it in one call, where
        # the widened range takes four when new, as when young; else when first needed: a ghost)
        self._diff = apart.difference(current) if learns else None
        if self._diff is None:
            changed = apart.changed(current, threshold, needed)
        else:
            changed = exceeding(self._diff, threshold, needed)
        self._busy = False
        if self._shake.suspected(changed):
            self._busy = True
            reference = self._uint8_background()
            shift = self._shake.shift(current, reference)
            if shift is not None:
                self._reference = self._shake.moved(reference, shift)
                self._diff = apart.once(current, self._reference)
                changed = exceeding(self._diff, threshold, needed)
        if learns:
            diff, level = self._diff, self._active_level()
            assert diff is not None  # (measured above, or against the shaken background)
            self._restless.update(
                current, self._uint8_background, diff, t, level, near=self._near_range
            )
            # The per-pixel thresholds from what was learned: made now while the model is
            # young (every frame learns), else two frames later (`late`).
            if not self._restless.late:
                self._restless.thresholds(threshold)
        cv2.erode(changed, _SPECK, dst=changed)
        # The calm frame: nothing left after the opening's erosion, so no region, no zone
        # share and nothing to judge (min_area > 0): what they would find is known.
        quiet = not cv2.countNonZero(changed)
        regions, best, zones = (
            self._moving(changed, current, t, bool(due & RANGE)) if not quiet else ([], 0.0, [])
        )
        width, height = self.work
        boxes = tuple(
            Box(x / width, y / height, w / width, h / height) for _, (x, y, w, h) in regions
        )

        still = self._learn_mask([box for _, box in regions])
        if self._busy:
            due = self._schedule.busy(due)
        if due & NOISE:  # the noise level moves slowly: an eighth of frames
            # (not where leaves keep moving: their sway is not the sensor's noise; against the
            # background moved by a shake, if it was)
            calm = self._restless.calm(threshold, SAMPLE_STEP)
            # (the uint8 background is made already on the range's frames, the noise's own, not
            # on the next frame where a busy one moved it; `_held`: where `still` is 0, the box
            # around what moves)
            self._noise.update(current, self._uint8_background(), self._held, calm)
        cv2.accumulateWeighted(current, background, cfg.learning_rate, mask=still)
        # Absorption is a matter of seconds: every fourth frame is enough. (Every eighth, as
        # in issue 27's sixth round, with the restless model learning everywhere every fourth
        # frame, a porch light switched on as a visitor left kept motion 5 frames longer.)
        absorb, after = self._stationary.absorb, cfg.absorb_seconds
        settled = absorb(changed, current, background, t, after, quiet) if due & ABSORB else ()
        shown = boxes if zones else ()
        return MotionResult(t, best, bool(zones), threshold, shown, tuple(zones), lighting, settled)

    def _moving(
        self,
        changed: np.ndarray,
        current: np.ndarray,
        t: float,
        ghosts: bool,
    ) -> tuple[list[tuple[np.ndarray, PixelBox]], float, list[str]]:
        """The regions of an eroded `changed` (joined, masked, small ones and ghosts and blurs
        dropped from it), the largest share of a zone changed and the zones at `min_area`.
        `ghosts`: ghosts are looked for in this frame."""
        cfg = self.cfg
        cv2.dilate(changed, _OPEN_AND_JOIN, dst=changed)
        if not self._everywhere:
            cv2.bitwise_and(changed, self._watched, dst=changed)
        regions = large_regions(changed, self._min_blob)
        if regions and ghosts:
            regions = self._drop_ghosts(regions, changed, current, t)
        best, zones = self._zone_shares(changed)
        if zones and cfg.min_sharpness > 0:
            # Only when it would count: is any region a blur right in front of the lens?
            # Regions too small to count on their own are left be: checking them costs more
            # than it could change.
            big = self._min_trigger_px
            focus, number, dimming = self._focus, self._frames, self._dimming()
            focus.forget_before(number)
            blurry = [
                r
                for r in regions
                if r[1][2] * r[1][3] >= big and focus.soft(r[0], r[1], current, number, dimming)
            ]
            if blurry:
                # A soft outline in the frame may also be a ghost's (its outline is in the
                # background): that is taken in (checked as often as other ghosts) rather than
                # learned slowly. Either way a blur does not count as motion.
                if ghosts:
                    found = self._ghosts(current, [box for _, box in blurry])
                    for (contour, box), ghost in zip(blurry, found, strict=True):
                        if ghost:
                            self._stationary.take_in(self._known, current, contour, box)
                cv2.drawContours(changed, [r[0] for r in blurry], -1, 0, thickness=cv2.FILLED)
                regions = [r for r in regions if not any(r is b for b in blurry)]
                best, zones = self._zone_shares(changed)
        return regions, best, zones

    def _zone_shares(self, changed: np.ndarray) -> tuple[float, list[str]]:
        """The largest changed share of any zone, and the zones at or above `min_area`."""
        best, zones = 0.0, []
        for zone in self.zones:
            inside = changed if self._everywhere else cv2.bitwise_and(changed, zone.mask)
            share = 100.0 * cv2.countNonZero(inside) / zone.pixels
            best = max(best, share)
            if share >= self.cfg.min_area:
                zones.append(zone.name)
        return best, zones

    def _drop_ghosts(
        self,
        regions: list[tuple[np.ndarray, PixelBox]],
        changed: np.ndarray,
        current: np.ndarray,
        t: float,
    ) -> list[tuple[np.ndarray, PixelBox]]:
        """Regions that have stayed for GHOST_SECONDS and are ghosts become background now."""
        stayed = self._stationary.stayed([box for _, box in regions], t, GHOST_SECONDS)
        checked = [r for r, long in zip(regions, stayed, strict=True) if long]
        if not checked:
            return regions
        verdicts = self._ghosts(current, [box for _, box in checked])
        if not any(verdicts):
            return regions  # (the usual: a visitor standing there)
        gone = [r for r, ghost in zip(checked, verdicts, strict=True) if ghost]
        for contour, box in gone:
            self._stationary.take_in(self._known, current, contour, box)
            cv2.drawContours(changed, [contour], -1, 0, thickness=cv2.FILLED)
        return [r for r in regions if not any(r is g for g in gone)]

    def _ghosts(self, current: np.ndarray, boxes: list[PixelBox]) -> list[bool]:
        """Which of these regions' boxes are ghosts (checked together, within the box around
        them all: motion.outline.ghosts). The frame is busy (motion.schedule)."""
        self._busy = True
        x0, y0, x1, y1 = around(boxes)
        window = (slice(y0, y1), slice(x0, x1))
        return ghosts(
            current[window],
            self._unmoved_background(window),
            # (this frame's difference if made, else the window's alone: a ghost frame seldom
            # needs the whole frame's, issue 27's tenth round)
            self._apart.difference(current, window) if self._diff is None else self._diff[window],
            self._noise.threshold,
            [(x - x0, y - y0, w, h) for x, y, w, h in boxes],
            GHOST_RATIO,
            # an outline's crispness scales with the light, as every contrast does
            GHOST_MIN_EDGE * self._dimming(),
        )

    def _unmoved_background(self, window: tuple[slice, slice]) -> np.ndarray:
        """This frame's background as uint8 in `window`, not moved by a shake: on a frame that
        measured the range (every frame that looks for ghosts) the one it was measured on,
        unless a shake replaced it since; else made.
        So the blurs' check in `_moving`, which runs after `_drop_ghosts` took this frame's
        ghosts in, sees the background as it was before them, except on a frame a shake moved:
        there it is made here afresh, with those ghosts in it (on no clip: the same-outputs
        check's 3 real clips and 15 scenes check blurs 97 times, 3 on shaken frames, none after
        a take-in)."""
        reference = self._reference
        if reference is not None and self._apart.range_of(reference) is not None:
            return reference[window]
        return cv2.convertScaleAbs(self._known[window])

    def _learn_mask(self, boxes: list[PixelBox]) -> np.ndarray:
        """Where the background may learn: outside the box around every moving region. Inside
        a visitor, pixels that differ by less than the threshold would otherwise be learned,
        and then the visitor with them."""
        still = self._still
        # (Only last frame's box is set back: the mask is 1 everywhere else already.)
        if self._held is not None:
            still[self._held] = 1
            self._held = None
        if boxes:
            x0, y0, x1, y1 = around(boxes)
            self._held = (slice(y0, y1 + 1), slice(x0, x1 + 1))
            still[self._held] = 0
        return still
