"""The clip cutter between threads: an event's start and end come from the button's or the
analysis thread, a disarm's cut from the command thread, while the recording thread opens clips.
Each test puts the other thread's call in the window where the recording thread opens a clip
(while the clip's row is written), where an end or a cut was once lost. Last, what the cutter's
`on_no_clip` does to an alert."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from doorbell.config.record import RecordConfig
from doorbell.device.recording.clip import ClipInfo
from doorbell.device.recording.recorder import Recorder
from doorbell.device.runtime.alerts import Alerts
from doorbell.uplink.messages import EventMessage
from tests.test_recording import walk_up_ring_recorder

BASE = 2e9  # wall time at frame time 0
# Short post-roll, and a cap well inside the 40 s each test records, so a clip left open shows
RECORD = RecordConfig(pre_seconds=1.0, post_seconds=1.0, max_seconds=30.0)


def while_opening(recorder: Recorder, meanwhile: Callable[[], None]) -> None:
    """Run `meanwhile` (what another thread does) while the first clip's row is written."""
    add_clip, ran = recorder.index.add_clip, [False]

    def hooked(clip_id: str, *args: object) -> None:
        if not ran[0]:
            ran[0] = True
            meanwhile()
        add_clip(clip_id, *args)  # type: ignore[arg-type]

    recorder.index.add_clip = hooked  # type: ignore[method-assign]


def record(
    tmp_path: Path,
    events: dict[str, tuple[float, bool]],
    meanwhile: Callable[[Recorder], None] = lambda recorder: None,
    told_at: float = 8.0,
    pre_seconds: float = 1.0,
) -> tuple[list[ClipInfo], list[str]]:
    """Events (id -> start time, ended at once), the recording thread told of them all in the
    frame at `told_at` (a motion start comes late); `meanwhile` runs as the first clip opens.
    The clips made up to 40 s and the events told they get none."""
    config = RECORD.model_copy(update={"pre_seconds": pre_seconds})
    source, recorder, clips = walk_up_ring_recorder(tmp_path, config)
    none: list[str] = []
    recorder.cutter.on_no_clip = none.extend
    while_opening(recorder, lambda: meanwhile(recorder))
    while (frame := source.read()) is not None and frame.t < 40.0:
        if abs(frame.t - told_at) < 1e-6:
            for event_id, (at, ends) in events.items():
                recorder.event_started(event_id, "ring", at, BASE + at)
                if ends:
                    recorder.event_ended(event_id, at, BASE + at, 0.0, [])
        recorder.push(frame)
    recorder.close()
    return clips, none


def end_of(clip: ClipInfo) -> float:
    return clip.start_t + clip.seconds


def test_an_end_that_lands_while_its_clip_opens_still_ends_it(tmp_path: Path) -> None:
    """A ring starts and ends at once, from the button's thread: its end can land while the
    recording thread opens the clip. Lost, the clip ran on to `max_seconds` (a page test waited
    a minute for it)."""
    ring = {"ring": (5.0, False)}
    end = lambda r: r.event_ended("ring", 5.0, BASE + 5.0, 0.0, [])  # noqa: E731
    (clip,) = record(tmp_path, ring, end, told_at=5.0)[0]
    assert end_of(clip) <= 5.0 + 1.0 + 1.0 + 1e-6  # post-roll, one fragment more


def test_an_end_that_lands_while_another_events_clip_opens_ends_the_joined_clip(
    tmp_path: Path,
) -> None:
    events = {"e1": (5.0, True), "e2": (5.1, False)}
    clips, _ = record(tmp_path, events, lambda r: r.event_ended("e2", 5.1, BASE + 5.1, 0.0, []))
    (clip,) = clips
    # (its first check is at the fragment after 8 s, when both had ended: not `max_seconds` on)
    assert clip.event_ids == ("e1", "e2") and end_of(clip) <= 9.0 + 1e-6


def test_a_cut_while_a_clip_opens_drops_the_later_event_and_says_so(tmp_path: Path) -> None:
    """Disarmed at 5.05 as the first clip opens: the event after the cut gets no clip (and its
    alert hears so); the one before it ends at the cut, not its post-roll or `max_seconds`."""
    events = {"e1": (5.0, True), "e2": (5.1, True)}
    clips, none = record(tmp_path, events, lambda r: r.cut(5.05))
    assert [c.event_ids for c in clips] == [("e1",)] and none == ["e2"]
    assert end_of(clips[0]) <= 6.0 + 1e-6


def test_a_cut_while_an_events_own_clip_opens_leaves_no_clip(tmp_path: Path) -> None:
    """Disarmed at 5.2 while the clip of an event from 5.3 is opened: no clip, no row, and its
    alert told so once."""
    source_clips, none = record(tmp_path, {"e1": (5.3, True)}, lambda r: r.cut(5.2))
    assert source_clips == [] and none == ["e1"]
    assert not list(tmp_path.glob("clips/*"))


def test_a_cut_stays_for_an_event_from_before_it_whose_clip_opens_later(tmp_path: Path) -> None:
    """Disarmed at 5.2 as e1's clip opens; e2 (5.1, before the cut, still going on: a visitor
    in view) gets its clip after e1's was cut: it ends at the cut too, not after e2 ends."""
    events = {"e1": (5.0, True), "e2": (5.1, False)}
    clips, none = record(tmp_path, events, lambda r: r.cut(5.2))
    assert none == [] and sorted(c.event_ids for c in clips) == [("e1",), ("e2",)]
    assert all(end_of(c) <= 6.0 + 1e-6 for c in clips)


def test_an_event_from_before_a_spent_cut_heard_of_later_ends_at_the_cut(tmp_path: Path) -> None:
    """The alert was decided before the disarm, the recorder hears of it after the cut was spent:
    its clip still ends at the cut, not after the event ends."""
    source, recorder, clips = walk_up_ring_recorder(tmp_path, RECORD)
    while (frame := source.read()) is not None and frame.t < 40.0:
        if abs(frame.t - 6.0) < 1e-6:
            recorder.cut(5.2)  # nothing waits: spent with the next fragment
        if abs(frame.t - 7.4) < 1e-6:  # (the pre-roll ring still holds 5.1 - pre_seconds)
            recorder.event_started("late", "motion", 5.1, BASE + 5.1)
        recorder.push(frame)
    recorder.close()
    (clip,) = clips
    assert end_of(clip) <= 6.0 + 1e-6


def test_only_events_from_before_a_cut_hold_it(tmp_path: Path) -> None:
    """Re-armed at once after a cut at 5.2: a new event at 8.0, heard of before the next
    fragment, gets its whole clip, post-roll and all (were the cut held for it, its clip would
    end at once)."""
    source, recorder, clips = walk_up_ring_recorder(tmp_path, RECORD)
    while (frame := source.read()) is not None and frame.t < 40.0:
        if abs(frame.t - 8.0) < 1e-6:
            recorder.cut(5.2)
            recorder.event_started("new", "ring", 8.0, BASE + 8.0)
            recorder.event_ended("new", 8.0, BASE + 8.0, 0.0, [])
        recorder.push(frame)
    recorder.close()
    (clip,) = clips
    assert end_of(clip) >= 9.0 - 1e-6


def test_a_cut_before_an_events_first_fragment_leaves_no_empty_clip(tmp_path: Path) -> None:
    """No pre-roll, cut at the very frame the event began: the clip would hold no frame. It is
    not kept (no 0 s clip indexed and sent); the alert is told no clip comes."""
    clips, none = record(
        tmp_path, {"e1": (5.0, True)}, lambda r: r.cut(5.0), told_at=6.0, pre_seconds=0.0
    )
    assert clips == [] and none == ["e1"]


def test_no_clip_never_sends_the_end_of_an_alert_whose_start_was_not_sent(tmp_path: Path) -> None:
    """A motion alert kept quiet by its label (held) that ended waiting for its clip: told no
    clip comes, it closes without a word; a published one gets its `end`, `clip` null."""
    published: list[EventMessage] = []
    alerts = Alerts("dev", published.append, tmp_path)
    quiet = alerts.start("motion", BASE, recording=True, hold=True)
    loud = alerts.start("ring", BASE, recording=True)
    for alert in (quiet, loud):
        alerts.end(alert.id, BASE + 1.0)
    alerts.no_clip([quiet.id, loud.id])
    assert [(m.id, m.state, m.clip) for m in published] == [
        (loud.id, "start", None),
        (loud.id, "end", None),
    ]


def test_re_armed_an_event_dated_back_before_the_last_cut_is_recorded_whole(tmp_path: Path) -> None:
    """Disarmed at 5.2 and re-armed at once: a motion event dated back to its first frames,
    just before the disarm, and reported after the re-arm gets its whole clip, not one cut at
    that old disarm."""
    source, recorder, clips = walk_up_ring_recorder(tmp_path, RECORD)
    while (frame := source.read()) is not None and frame.t < 40.0:
        if abs(frame.t - 5.2) < 1e-6:
            recorder.cut(5.2)
            recorder.resume()
        if abs(frame.t - 6.0) < 1e-6:
            recorder.event_started("armed", "motion", 5.1, BASE + 5.1)
        if abs(frame.t - 9.0) < 1e-6:
            recorder.event_ended("armed", 9.0, BASE + 9.0, 1.0, [])
        recorder.push(frame)
    recorder.close()
    (clip,) = clips
    assert end_of(clip) >= 10.0 - 1e-6
