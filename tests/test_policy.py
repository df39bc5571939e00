"""The mode rules as a table: every mode and record mode, every event, the actions expected.

Written out by hand rather than computed, so removing or bending any rule in device/policy.py
changes a row and fails here.
"""

from __future__ import annotations

import pytest

from doorbell.config.device import EVENT_LABELS, MODES, EventLabel, ModesConfig
from doorbell.device.runtime.policy import (
    Actions,
    Event,
    ModeEntered,
    MotionEnded,
    MotionLabelled,
    MotionStarted,
    PackageArrived,
    PackageGone,
    Policy,
    RecordMode,
    Ring,
    SnapshotAsked,
    Stationary,
)

NOTHING = Actions()
A, R, S, C = "alert", "record", "snapshot", "clip_follows"
STOP = "stop_recording"


def acts(*flags: str, motion: bool | None = None) -> Actions:
    return Actions(**{flag: True for flag in flags}, motion=motion)


START = MotionStarted()
END_LAST = MotionEnded(alerted=True, others_open=False)
END_OTHERS = MotionEnded(alerted=True, others_open=True)
END_UNALERTED = MotionEnded(alerted=False, others_open=False)
END_HELD = MotionEnded(alerted=False, others_open=False, held=True)
LABELLED = MotionLabelled("person")
RING = Ring(has_frame=True)
RING_BLIND = Ring(has_frame=False)
STATIONARY = Stationary()
PACKAGE = PackageArrived()
PACKAGE_GONE = PackageGone()
SNAPSHOT = SnapshotAsked()
ENTERED = ModeEntered()

EVENTS: list[tuple[str, Event]] = [
    ("start", START),
    ("labelled", LABELLED),
    ("end", END_LAST),
    ("end+others", END_OTHERS),
    ("end-unalerted", END_UNALERTED),
    ("end-held", END_HELD),
    ("ring", RING),
    ("ring-blind", RING_BLIND),
    ("stationary", STATIONARY),
    ("package", PACKAGE),
    ("package-gone", PACKAGE_GONE),
    ("snapshot", SNAPSHOT),
    ("entered", ENTERED),
]

# mode -> record mode -> event name -> actions; the default `modes:` section.
TABLE: dict[str, dict[str, dict[str, Actions]]] = {
    "disarmed": {
        record_mode: {
            "start": NOTHING,
            "labelled": NOTHING,
            "end": acts(A, motion=False),  # an alert raised while armed is still closed
            "end+others": acts(A),
            "end-unalerted": NOTHING,
            "end-held": NOTHING,
            "ring": acts(A),  # a ring is never muted, but a disarmed device keeps no footage
            "ring-blind": acts(A),
            "stationary": NOTHING,
            "package": NOTHING,
            "package-gone": acts(A),  # one that alerted while armed is still closed
            "snapshot": NOTHING,  # no picture on demand either
            "entered": acts(STOP),  # disarming ends the open clip at once
        }
        for record_mode in ("events", "continuous", "off")
    },
    "home": {
        "events": {
            "start": NOTHING,  # home: no motion alerts
            "labelled": NOTHING,
            "end": acts(A, S, motion=False),  # raised while away, closed after
            "end+others": acts(A, S),
            "end-unalerted": NOTHING,
            "end-held": NOTHING,
            "ring": acts(A, R, S, C),
            "ring-blind": acts(A),
            "stationary": NOTHING,
            "package": NOTHING,
            "package-gone": acts(A, S),  # closed, with the empty place
            "snapshot": acts(S),
            "entered": NOTHING,  # it records: the clip goes on
        },
        "continuous": {
            "start": NOTHING,
            "labelled": NOTHING,
            "end": acts(A, S, motion=False),
            "end+others": acts(A, S),
            "end-unalerted": NOTHING,
            "end-held": NOTHING,
            "ring": acts(A, R, S),  # the segment holding the ring may end minutes later
            "ring-blind": acts(A),
            "stationary": NOTHING,
            "package": NOTHING,
            "package-gone": acts(A, S),  # closed, with the empty place
            "snapshot": acts(S),
            "entered": NOTHING,  # it records: the clip goes on
        },
        "off": {
            "start": NOTHING,
            "labelled": NOTHING,
            "end": acts(A, S, motion=False),
            "end+others": acts(A, S),
            "end-unalerted": NOTHING,
            "end-held": NOTHING,
            "ring": acts(A, S),
            "ring-blind": acts(A),
            "stationary": NOTHING,
            "package": NOTHING,
            "package-gone": acts(A, S),  # closed, with the empty place
            "snapshot": acts(S),
            "entered": acts(STOP),  # record mode off: nothing records
        },
    },
    "away": {
        "events": {
            "start": acts(A, R, C),  # opened; its label decides whether it goes out
            "labelled": acts(A, S, motion=True),
            "end": acts(A, S, motion=False),
            "end+others": acts(A, S),  # motion stays ON while another alert is open
            "end-unalerted": NOTHING,
            "end-held": NOTHING,
            "ring": acts(A, R, S, C),
            "ring-blind": acts(A),
            "stationary": NOTHING,
            "package": acts(A, R, S),  # its start now (indexed, a snapshot), end when gone
            "package-gone": acts(A, S),  # closed, with the empty place
            "snapshot": acts(S),
            "entered": NOTHING,  # it records: the clip goes on
        },
        "continuous": {
            "start": acts(A, R),
            "labelled": acts(A, S, motion=True),
            "end": acts(A, S, motion=False),
            "end+others": acts(A, S),
            "end-unalerted": NOTHING,
            "end-held": NOTHING,
            "ring": acts(A, R, S),
            "ring-blind": acts(A),
            "stationary": NOTHING,
            "package": acts(A, R, S),  # its start now (indexed, a snapshot), end when gone
            "package-gone": acts(A, S),  # closed, with the empty place
            "snapshot": acts(S),
            "entered": NOTHING,  # it records: the clip goes on
        },
        "off": {
            "start": acts(A),
            "labelled": acts(A, S, motion=True),
            "end": acts(A, S, motion=False),
            "end+others": acts(A, S),
            "end-unalerted": NOTHING,
            "end-held": NOTHING,
            "ring": acts(A, S),
            "ring-blind": acts(A),
            "stationary": NOTHING,
            "package": acts(A, S),  # not recorded: not indexed, its snapshot all the same
            "package-gone": acts(A, S),  # closed, with the empty place
            "snapshot": acts(S),
            "entered": acts(STOP),  # record mode off: nothing records
        },
    },
}

CONTINUOUS = {  # whether continuous segments are cut, per mode and record mode
    ("disarmed", "continuous"): False,
    ("home", "continuous"): True,
    ("away", "continuous"): True,
}


def test_the_table_covers_every_mode() -> None:
    assert set(TABLE) == set(MODES)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("record_mode", ["events", "continuous", "off"])
def test_each_mode_does_what_its_row_says(mode: str, record_mode: RecordMode) -> None:
    policy = Policy(getattr(ModesConfig(), mode), record_mode)
    got = {name: policy.decide(event) for name, event in EVENTS}
    assert got == TABLE[mode][record_mode]
    assert policy.continuous is CONTINUOUS.get((mode, record_mode), False)


def test_a_mode_is_its_behaviour_not_its_name() -> None:
    """The rules read the `modes:` section, so a user may make `home` alert after all."""
    home = ModesConfig().home.model_copy(update={"motion_alerts": True, "snapshots": False})
    policy = Policy(home, "events")
    assert policy.decide(START) == acts(A, R, C)
    assert policy.decide(LABELLED) == acts(A, motion=True)
    assert policy.decide(END_LAST) == acts(A, motion=False)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("person", acts(A, S, motion=True)),
        ("package", acts(A, S, motion=True)),
        ("vehicle", NOTHING),  # a passing car: opened, recorded, never sent
        ("animal", NOTHING),
        ("unknown", NOTHING),  # nothing named (or no model): quiet too, as asked
    ],
)
def test_a_mode_alerts_only_on_the_labels_it_lists(label: EventLabel, expected: Actions) -> None:
    away = ModesConfig().away.model_copy(update={"alert_labels": ["person", "package"]})
    policy = Policy(away, "events")
    assert policy.decide(START) == acts(A, R, C)  # the clip starts whatever the label
    assert policy.decide(MotionLabelled(label)) == expected
    assert policy.decide(END_HELD) == NOTHING  # (its clip ends: the recorder heard it start)
    assert policy.decide(PACKAGE) == acts(A, R, S)  # `package` is listed: possible packages alert


def test_possible_packages_alert_only_where_package_is_listed() -> None:
    away = ModesConfig().away.model_copy(update={"alert_labels": ["person", "vehicle"]})
    assert Policy(away, "events").decide(PACKAGE) == NOTHING


def test_by_default_every_label_alerts_as_before_labels_existed() -> None:
    policy = Policy(ModesConfig().away, "events")
    for label in EVENT_LABELS:
        assert policy.decide(MotionLabelled(label)) == acts(A, S, motion=True)
