"""A crash mid-event, then a restart: what was open is closed, so no consumer waits forever."""

from __future__ import annotations

import json
from pathlib import Path

from doorbell.device.runtime.alerts import Alerts
from doorbell.device.runtime.recovery import close_crashed_events
from doorbell.device.storage.index import EventIndex
from doorbell.device.storage.repair import repair
from doorbell.uplink.messages import EventMessage
from tests.support.process import DoorbellProcess
from tests.support.subscriber import Received
from tests.support.waiting import wait_until

DEVICE = "crash"
EVENT, MOTION = f"doorbell/{DEVICE}/event", f"doorbell/{DEVICE}/motion"


def events(messages: list[Received]) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(m.payload) for m in messages if m.topic == EVENT]


def ended(messages: list[Received]) -> set[str]:
    return {e["id"] for e in events(messages) if e["state"] == "end"}


def test_sigkill_mid_event_then_restart_closes_it(mosquitto, subscribe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    args = ["--broker", mosquitto.url, "--device-id", DEVICE, "--data-dir", str(data)]
    sub = subscribe(EVENT, MOTION)
    crashed = DoorbellProcess(
        tmp_path / "p1", *args, "--camera", "synthetic:walk_up_ring", "--speed", "3"
    )
    try:
        assert sub.wait_for(lambda ms: any(e["state"] == "start" for e in events(ms)), 60), (
            crashed.stderr
        )
        assert sub.wait_for(lambda ms: [m.payload for m in ms if m.topic == MOTION][-1:] == [b"ON"])
        # some of its clip on disk, so the restart has something to repair
        assert wait_until(
            lambda: any(p.stat().st_size > 100_000 for p in data.glob("clips/*.partial"))
        ), crashed.stderr
        crashed.kill()  # SIGKILL: no shutdown, no `end`, motion stays ON on the broker
    finally:
        crashed.kill()
    started = {e["id"]: e for e in events(sub.messages) if e["state"] == "start"}
    assert not [e for e in events(sub.messages) if e["state"] == "end"]
    before = len(sub.messages)

    # disarmed, so the restarted device raises no alert (nor motion ON) of its own
    restarted = DoorbellProcess(
        tmp_path / "p2",
        *args,
        "--camera",
        "synthetic:walk_up_ring",
        "--set",
        "device.mode=disarmed",
        "--loop",
    )
    try:
        assert sub.wait_for(lambda ms: ended(ms) >= set(started), 60), restarted.stderr
        assert sub.wait_for(lambda ms: b"OFF" in [m.payload for m in ms[before:]], 10), (
            "motion OFF not published at start"
        )
        assert restarted.proc.poll() is None  # said while running, not at exit
        late = subscribe(MOTION)  # a consumer that connects now sees the retained state
        assert late.wait_for(lambda ms: len(ms) == 1, 10)
        assert late.messages[0].payload == b"OFF" and late.messages[0].retain
    finally:
        restarted.kill()

    ends = [e for e in events(sub.messages) if e["state"] == "end"]
    assert sorted(e["id"] for e in ends) == sorted(started)  # one end each, the same ids
    index = EventIndex(data / "index.sqlite")
    for end in ends:
        start = started[end["id"]]
        assert (end["type"], end["start"]) == (start["type"], start["start"])
        assert end["end"] is not None and end["end"] >= end["start"]
        if end["clip"] is not None:
            assert end["clip"]["state"] == "damaged"
            assert (data / end["clip"]["file"]).exists()
        row = index.get_event(end["id"])
        assert row is not None and row.end_wall is not None
    motion = next(e for e in ends if e["type"] == "motion")
    assert motion["clip"] is not None and motion["clip"]["state"] == "damaged"
    assert "closed" in restarted.stderr and "Traceback" not in restarted.stderr


def test_an_ended_event_whose_clip_was_cut_short_gets_its_end(tmp_path: Path) -> None:
    """`record.mode: events`: an `end` waits for the clip, so a crash in the post-roll left the
    event ended in the index but never announced; in continuous mode its `end` went already."""
    for clip_follows, expected in ((True, ["ring"]), (False, [])):
        data = tmp_path / str(clip_follows)
        (data / "clips").mkdir(parents=True)
        index = EventIndex(data / "index.sqlite")
        index.add_event("ring", "ring", 1_764_000_000.0)
        index.end_event("ring", 1_764_000_000.0, 0.0, [])
        index.add_clip("clip", ["ring"], "clips/clip.mp4", 1_763_999_997.0)  # no frame written
        published: list[EventMessage] = []
        motion: list[bool] = []
        report = repair(index, data, 15.0)
        alerts = Alerts("dev", published.append, data)
        close_crashed_events(index, report, alerts, motion.append, clip_follows)
        assert [m.id for m in published] == expected and motion == [False]
        assert all(m.state == "end" and m.clip is None for m in published)
        index.close()


def test_the_end_sent_after_a_crash_carries_the_label_the_index_kept(tmp_path: Path) -> None:
    """A motion event that had ended (its label voted and indexed) while its clip was cut short:
    its `end`, sent at the next start, says what moved; one the index has no label for, unknown."""
    (tmp_path / "clips").mkdir()
    index = EventIndex(tmp_path / "index.sqlite")
    for event_id, label in (("seen", "person"), ("unseen", None)):
        index.add_event(event_id, "motion", 1_764_000_000.0)
        index.end_event(event_id, 1_764_000_005.0, 3.0, [])
        if label:
            index.set_label(event_id, label)
        index.add_clip(f"clip-{event_id}", [event_id], f"clips/{event_id}.mp4", 1_763_999_997.0)
    published: list[EventMessage] = []
    motion: list[bool] = []
    report = repair(index, tmp_path, 15.0)
    alerts = Alerts("dev", published.append, tmp_path)
    close_crashed_events(index, report, alerts, motion.append, True)
    assert {m.id: m.label for m in published} == {"seen": "person", "unseen": "unknown"}
    index.close()


def test_a_package_still_there_at_a_crash_gets_no_end(tmp_path: Path) -> None:
    """An `end` of a package says it is gone; a restart forgets it instead (docs/classify.md),
    even where it shares the delivery's clip that the crash cut short. Its row is closed."""
    (tmp_path / "clips").mkdir()
    index = EventIndex(tmp_path / "index.sqlite")
    index.add_event("courier", "motion", 1_764_000_000.0)
    index.add_clip("clip", ["courier"], "clips/clip.mp4", 1_763_999_997.0)
    index.add_event("parcel", "package", 1_764_000_030.0)
    index.link_event("clip", "parcel")
    published: list[EventMessage] = []
    report = repair(index, tmp_path, 15.0)
    close_crashed_events(index, report, Alerts("dev", published.append, tmp_path), print, True)
    assert [m.id for m in published] == ["courier"]
    parcel = index.get_event("parcel")
    assert parcel is not None and parcel.end_wall is not None and index.open_events() == []
    index.close()
