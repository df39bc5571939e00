"""The threads of a running device: capture -> analysis, capture -> recording.

Capture never waits for anyone: it hands each frame to a latest-frame slot for analysis (a slow
detector skips to the newest frame) and to a bounded queue for the encoder (a slow encoder loses
the oldest raw frames); both count what they drop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from doorbell.config.motion import MotionConfig
from doorbell.device.runtime.frame import Frame
from doorbell.device.runtime.pacing import Pacer
from doorbell.device.runtime.queues import DropQueue
from doorbell.device.sources.base import Source, SourceError
from doorbell.device.sources.faults import SourceDisconnected
from doorbell.motion.detector import MotionDetector
from doorbell.motion.events import EventTracker
from doorbell.motion.types import EventUpdate, MotionResult

log = logging.getLogger(__name__)
LOSSLESS_SLACK = 1


@dataclass
class PipelineStats:
    frames: int = 0
    analysed: int = 0
    recorded: int = 0
    last_frame_t: float = 0.0
    last_frame_monotonic: float = 0.0  # on the pipeline's clock; the start counts as a frame


class Pipeline:
    def __init__(
        self,
        source: Source,
        detector: MotionDetector,
        tracker: EventTracker,
        pacer: Pacer,
        on_analysed: Callable[[list[EventUpdate], MotionResult, Frame], None],
        on_record: Callable[[Frame], None],
        analysis_queue: int,
        record_queue: int,
        duration: float | None = None,
        lossless: bool = False,
        clock: Callable[[], float] = time.monotonic,
        on_button: Callable[[], object] = lambda: None,
        on_end: Callable[[], object] = lambda: None,
        on_taken: Callable[[Frame], object] = lambda frame: None,
    ) -> None:
        """`clock`: the host's monotonic clock (injected); frames carry their own time.
        `on_button`: called on the capture thread for a frame whose `button` is set.
        `on_taken`: called on the analysis thread with each frame as it is taken, before it is
        analysed: whoever keeps the latest frame (`Reactions.took`) lets the one before go then.
        `on_end`: called once, by the last of the three threads to finish (the source ended,
        the duration reached, a thread failed or a stop asked), so that nobody polls for it."""
        self.source, self.detector, self.tracker, self.pacer = source, detector, tracker, pacer
        self.on_analysed, self.on_record, self.on_button = on_analysed, on_record, on_button
        self.on_end, self.on_taken = on_end, on_taken
        self.duration = duration
        if lossless:  # waiting instead of dropping, a little slack is enough; more is only memory
            analysis_queue = min(analysis_queue, LOSSLESS_SLACK)
            record_queue = min(record_queue, LOSSLESS_SLACK)
        self.analysis_q: DropQueue[Frame] = DropQueue(analysis_queue, lossless)
        self.record_q: DropQueue[Frame] = DropQueue(record_queue, lossless)
        self.clock = clock
        self.stats = PipelineStats(last_frame_monotonic=clock())
        self.stop_requested = threading.Event()
        self.error: BaseException | None = None
        self._still_running = 3  # threads not yet finished (under _ending)
        self._ending = threading.Lock()
        self._threads = [
            threading.Thread(target=self._guard(self._capture), name="capture", daemon=True),
            threading.Thread(target=self._guard(self._analyse), name="analysis", daemon=True),
            threading.Thread(target=self._guard(self._record), name="recording", daemon=True),
        ]

    def _guard(self, body: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                body()
            except BaseException as exc:  # a dead thread must stop the device, not hang it
                log.exception("%s thread failed", threading.current_thread().name)
                self.error = exc
                self.stop_requested.set()
                self.analysis_q.close()
                self.record_q.close()
            finally:
                with self._ending:
                    self._still_running -= 1
                    last = self._still_running == 0
                if last:
                    self.on_end()

        return run

    def start(self) -> None:
        self.stats.last_frame_monotonic = self.clock()  # a stall is counted from the start
        self.pacer.start()  # frame time 0 is now, as the source's start_wall says
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else self.clock() + timeout
        for thread in self._threads:
            left = None if deadline is None else max(0.0, deadline - self.clock())
            thread.join(left)
        return not any(t.is_alive() for t in self._threads)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def _capture(self) -> None:
        try:
            while not self.stop_requested.is_set():
                try:
                    frame = self.source.read()
                except SourceDisconnected as exc:
                    # The source reconnects on its next read; the gap shows in the frame clock.
                    log.warning("%s; reconnecting", exc)
                    self.source.stats.reopens += 1
                    continue
                except SourceError as exc:
                    log.error("camera failed: %s", exc)
                    break
                if frame is None:
                    break
                if self.duration is not None and frame.t >= self.duration:
                    break
                if not self.source.live:
                    self.pacer.wait(frame.t)
                self.stats.frames += 1
                self.stats.last_frame_t = frame.t
                self.stats.last_frame_monotonic = self.clock()
                if frame.button:
                    self.on_button()
                self.analysis_q.put(frame)
                self.record_q.put(frame)
        finally:
            self.analysis_q.close()
            self.record_q.close()

    def replace_detector(self, detector: MotionDetector, cfg: MotionConfig) -> None:
        """New motion settings take effect from the next frame; an open event carries on."""
        self.detector = detector
        self.tracker.cfg = cfg

    def _analyse(self) -> None:
        last: Frame | None = None
        last_result: MotionResult | None = None
        while True:
            frame = self.analysis_q.get()  # waits for a frame or the close: no idle wake-ups
            if frame is None:
                break
            # The frame before is let go as this one is taken, not once this one is analysed:
            # one whole picture less held while the detector works (issue 31).
            last = frame
            self.on_taken(frame)
            result = self.detector.process(frame.lores, frame.t)
            self.stats.analysed += 1
            self.on_analysed(self.tracker.update(result, frame.seq), result, frame)
            last_result = result
        if last is not None and last_result is not None:
            self.on_analysed(self.tracker.flush(), last_result, last)

    def _record(self) -> None:
        while True:
            frame = self.record_q.get()  # waits for a frame or the close: no idle wake-ups
            if frame is None:
                break
            self.on_record(frame)
            self.stats.recorded += 1
