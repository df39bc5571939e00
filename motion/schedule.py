"""When the detector's periodic work runs: spread over a cycle of frames, put off while the
lighting judges frame after frame, and the noise moved off a frame that turned out busy
(docs/motion.md says what was measured)."""

from __future__ import annotations

from doorbell.motion.restless import LEARN_EVERY

# Work done every few frames is spread over a cycle of CYCLE frames, none of it on half of
# them (the usual frame, the median one), at most about 1.4x the median on the others:
#   0 and 4: the restless model learns (motion.restless; its per-pixel thresholds are made
#      two frames later, the next frame uses the ones before); the lighting's quick-test
#      bounds; absorption's timers;
#   1 and 5: the background's range, and ghosts checked against it (it takes them off the
#      learning frames);
#   1, from the second cycle on: the noise, with the calm places from what frame 0 learned
#      (not on frame 0, the slowest; not before the young model has learned a sway seen
#      from frame 0: the first measurement took test_motion_hard's leaves for noise); on the
#      next frame when its own turned out busy (`PeriodicWork.busy`: regions checked for
#      ghosts, a shake estimated), usually 2;
#   2, 3, 6, 7: none of it.
CYCLE = 8
# (The learning frames are restless.LEARN_EVERY's, a divisor of CYCLE: tests/test_motion.py.
# The bounds and absorption go with them, the range and ghosts on the frame after each.)
RANGE_EVERY, RANGE_PHASE = LEARN_EVERY, 1
NOISE_PHASE = 1
# The pieces of work, as bits (the range and the ghosts checked against it are one piece).
NOISE, ABSORB, RANGE = 2, 4, 8
# A frame the lighting judged (its slowest step) puts the work due on it off, and so does the
# next while it is judged too, up to PUT_OFF frames in a row: the work then runs on a judged
# frame rather than starve (a light judged on every frame: all of it every PUT_OFF + 1 frames).
PUT_OFF = 3


class PeriodicWork:
    """The work (bits) due on each frame: what its number in the cycle asks for, and what judged
    frames before it put off."""

    def __init__(self) -> None:
        self._due = 0  # put off by judged frames, to run on the next one not putting off
        self._waited = 0  # frames in a row that put work off
        self.putting_off = False  # this frame puts its work off (learning too: the caller)
        # (these three as `due` last set them: a frame the light settles on asks for no work)
        self.catching_up = False  # this frame runs work earlier frames put off, or moved to it
        self._later = 0  # the noise, moved off a busy frame to the next
        self._moved = False  # ... and not yet run: it may not move again
        self._runs_moved = False  # this frame runs the noise moved to it, busy or not

    def due(self, frame: int, judged: bool) -> int:
        """The work frame number `frame` runs; `judged`: the lighting judged it."""
        now = (
            (RANGE if frame % RANGE_EVERY == RANGE_PHASE else 0)
            | (NOISE if frame % CYCLE == NOISE_PHASE and frame > CYCLE else 0)
            | (ABSORB if not frame % LEARN_EVERY else 0)  # (as the lighting's bounds)
            | self._later
        )
        self._later = 0
        self.putting_off = judged and self._waited < PUT_OFF
        if self.putting_off:
            self._due |= now
            self.catching_up = self._runs_moved = False
            return 0
        put_off = bool(self._due)
        due, self._due, self._waited = self._due | now, 0, 0
        self._runs_moved = self._moved and bool(due & NOISE)
        self._moved = self._moved and not self._runs_moved
        self.catching_up = put_off or self._runs_moved
        return due

    def busy(self, work: int) -> int:
        """Of `work` (due on this frame), what runs on it: all of it, but on a frame that turned
        out busy (regions checked for ghosts, a shake estimated) the noise, which moves slowly,
        waits for the next frame, once."""
        if work & NOISE and not self._runs_moved:
            self._later, self._moved = NOISE, True
            return work & ~NOISE
        return work

    def waiting(self, learning: bool) -> None:
        """After `due`: `learning`, the restless model's step, is put off too."""
        if self.putting_off and (self._due or learning):
            self._waited += 1
        else:
            self._waited = 0
