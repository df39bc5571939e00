"""One scene for many emulated devices: rendered once and analysed once, then replayed.

Devices that show the same scenario see the same pictures, so rendering and motion analysis are
done once per distinct picture, at `analysis_fps`, over one period of the scenario (its duration,
or `repeat_every` for an endless one). What each device then does with the result (the mode
policy, alerts, outbox, MQTT) is its own: see `device.emulation.fleet`.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

from doorbell.config.camera import CameraConfig
from doorbell.config.motion import MotionConfig
from doorbell.device.emulation.camera import scripted_scenario
from doorbell.device.runtime.frame import Frame, i420_of
from doorbell.motion.detector import MotionDetector
from doorbell.motion.events import EventTracker
from doorbell.motion.types import EventUpdate, MotionEvent, MotionResult

Kind = str  # an EventUpdate's kind: start, end, stationary


@dataclass(frozen=True)
class Moment:
    """One analysed frame of the shared picture; `frame.wall` is the scenario's own (0-based).

    Events are recorded as they stood at this frame (`MotionEvent`s are mutable and the tracker
    keeps changing the open one), numbered so each device can keep a private copy of its own."""

    frame: Frame
    result: MotionResult
    updates: tuple[tuple[Kind, int, MotionEvent], ...]
    open: tuple[int, MotionEvent] | None  # the event open after this frame, as it stood

    @property
    def t(self) -> float:
        return self.frame.t


class SharedScene:
    """A scenario's period as analysed moments; read-only once built, so threads share it."""

    def __init__(
        self,
        scenario: str,
        motion: MotionConfig,
        camera: CameraConfig,
        analysis_fps: float = 1.0,
    ) -> None:
        scene = scripted_scenario(scenario)
        self.name = scene.name
        period = scene.duration or scene.scene.repeat_every
        if period is None:
            raise ValueError(
                f"scenario {scenario!r} is endless and does not repeat: a fleet replays one "
                "period of a scene (choose one with a duration or repeat_every)"
            )
        self.period = float(period)
        self.analysis_fps = analysis_fps
        self.size, self.fps = (scene.width, scene.height), scene.fps
        scene.lores_size = (camera.lores_width, camera.lores_height)
        detector, tracker = MotionDetector(motion, scene.lores_size), EventTracker(motion)
        moments: list[Moment] = []
        numbers: dict[int, int] = {}  # id(MotionEvent) -> its number in this period
        count = max(1, int(self.period * analysis_fps))
        quiet_main = None
        for k in range(count):
            seq = round(k * scene.fps / analysis_fps)
            main, lores = scene.render(seq)
            t = seq / scene.fps
            result = detector.process(lores, t)
            updates = tracker.update(result, seq)
            if k == count - 1:  # what is open when the period ends is closed there
                updates += tracker.flush()
            if not updates and tracker.active is None:
                # Nobody uses this picture (no snapshot is due): one quiet frame stands for all.
                quiet_main = i420_of(main) if quiet_main is None else quiet_main
                picture = quiet_main
            else:
                picture = i420_of(main)  # frames travel as I420, as a camera's do
            recorded = tuple(
                (u.kind, numbers.setdefault(id(u.event), len(numbers)), copy.deepcopy(u.event))
                for u in updates
            )
            active = tracker.active
            now_open = None
            if active is not None:
                now_open = (numbers.setdefault(id(active), len(numbers)), copy.deepcopy(active))
            moments.append(Moment(Frame(seq, t, t, picture, lores), result, recorded, now_open))
        self.moments = moments

    @property
    def events(self) -> int:
        """Motion events that start in one period."""
        return sum(kind == "start" for m in self.moments for kind, _, _ in m.updates)


class Replay:
    """One device's view of a shared scene: its own copies of the events, brought up to date at
    each moment, so its `Reactions` sees what a device analysing the picture itself would."""

    def __init__(self) -> None:
        self._mine: dict[int, MotionEvent] = {}

    def updates(self, moment: Moment) -> list[EventUpdate]:
        if moment.open is not None and moment.open[0] in self._mine:
            _refresh(self._mine[moment.open[0]], moment.open[1])
        out = []
        for kind, number, state in moment.updates:
            if kind == "stationary":  # reported once, never tracked
                out.append(EventUpdate("stationary", copy.copy(state)))
                continue
            mine = self._mine.setdefault(number, copy.copy(state))
            _refresh(mine, state)
            if kind == "end":
                del self._mine[number]
            out.append(EventUpdate("start" if kind == "start" else "end", mine))
        return out


def _refresh(mine: MotionEvent, state: MotionEvent) -> None:
    for field in dataclasses.fields(MotionEvent):
        setattr(mine, field.name, getattr(state, field.name))
