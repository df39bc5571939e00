"""A full disk is a state, not a crash: on a real small filesystem (a tmpfs of a few MB, what a
nearly full SD card looks like), the device records until the card is full, then keeps alerting,
prints its summary, starts again on the full card, and keeps alerts made while the card is full
(and the broker away) on disk until the broker has them, in order."""

from __future__ import annotations

import errno
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from doorbell.config.record import StorageConfig
from doorbell.device.emulation.mosquitto import MosquittoBroker, free_port
from doorbell.device.storage.index import EventIndex
from doorbell.uplink.outbox import Outbox
from doorbell.uplink.replay_guard import ReplayGuard
from tests.support.process import DoorbellProcess, doorbell
from tests.support.small_disk import fill, mount_tmpfs, unmount
from tests.support.subscriber import Subscriber
from tests.test_recording import enforce, record


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB filesystem of its own (a real ENOSPC, not a mock); skipped where mounting is not
    permitted (not root, no CAP_SYS_ADMIN)."""
    folder = tmp_path / "card"
    why = mount_tmpfs(folder, "4m")
    if why is not None:
        pytest.skip(why)
    try:
        yield folder
    finally:
        unmount(folder)


def run(data_dir: Path, port: int, scene: str, seconds: int) -> subprocess.CompletedProcess[str]:
    return doorbell(
        "run",
        "--data-dir",
        str(data_dir),
        "--device-id",
        "full",
        "--broker",
        f"mqtt://127.0.0.1:{port}",
        "--camera",
        f"synthetic:{scene}",
        "--speed",
        "max",
        "--duration",
        str(seconds),
        "--set",
        "web.listen=null",
        timeout=240,
    )


def events(sub: Subscriber) -> list[tuple[str, str]]:
    """The motion alerts delivered (walk_up_ring's visitor also rings: a ring is checked apart)."""
    return [
        (doc["id"], doc["state"])
        for doc in (json.loads(m.payload) for m in sub.on("doorbell/full/event"))
        if doc["type"] == "motion"
    ]


def assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]
    assert "doorbell: " in proc.stderr + proc.stdout  # the summary line


def test_the_card_fills_alerts_go_on_and_it_starts_again(
    small_disk: Path, mosquitto: MosquittoBroker
) -> None:
    data = small_disk / "data"
    filler = fill(small_disk, leave=1_200_000)  # a clip is ~1.6 MB: the first one fills it
    sub = Subscriber(mosquitto.port, ["doorbell/full/event", "doorbell/full/health"])
    try:
        first = run(data, mosquitto.port, "ten_visits", 200)
        assert_clean(first)
        assert "recording failed: disk full" in first.stderr + first.stdout
        assert "recording stopped" in first.stderr
        # said on the retained health topic too: ok at start, then the full card and why
        full = {"recording": "disk_full", "recording_failed": "No space left on device"}
        assert sub.wait_for(
            lambda _: full in [json.loads(m.payload) for m in sub.on("doorbell/full/health")], 10
        )
        health = [json.loads(m.payload) for m in sub.on("doorbell/full/health")]
        assert health[0] == {"recording": "ok", "recording_failed": None}
        assert health.index(full) > 0
        got = events(sub)
        starts = [i for i, state in got if state == "start"]
        assert len(starts) >= 3
        # every alert ends when its event does, without a clip, not at shutdown: start, end,...
        assert got == [(i, state) for i in starts for state in ("start", "end")]
        # no file is left that the index does not name (a snapshot half written when full)
        index = EventIndex(data / "index.sqlite")
        named = {Path(f).name for e in index.latest_events(100) for f in (e.snapshot, e.thumbnail)}
        named |= {Path(c.file).name for c in index.clips()}
        index.close()
        on_disk = {f.name for f in (data / "snapshots").iterdir()}
        assert on_disk <= named, on_disk - named

        filler.unlink()
        fill(small_disk)  # not a byte left: the next start meets a full card at once
        before = len(got)
        again = run(data, mosquitto.port, "walk_up_ring", 40)
        assert_clean(again)
        assert sub.wait_for(lambda _: len(events(sub)) >= before + 2, timeout=10)
        assert [s for _, s in events(sub)[before:]] == ["start", "end"]
    finally:
        sub.close()


def test_alerts_made_on_a_full_card_with_the_broker_away_are_delivered_in_order(
    small_disk: Path, mosquitto: MosquittoBroker
) -> None:
    data = small_disk / "data"
    assert_clean(run(data, mosquitto.port, "bush", 2))  # a first start, on a card with room
    filler = fill(small_disk)
    mosquitto.stop()
    away = run(data, mosquitto.port, "ten_visits", 200)
    assert_clean(away)
    assert "sent without the outbox" not in away.stderr  # all went into the outbox reserve
    backlog = Outbox(data / "outbox.sqlite")
    stored = [json.loads(row.payload) for row in backlog.pending(limit=1000)]
    backlog.close()
    assert len(stored) >= 6 and {doc["state"] for doc in stored} == {"start", "end"}

    mosquitto.start()
    sub = Subscriber(mosquitto.port, ["doorbell/full/event"])
    try:
        back = run(data, mosquitto.port, "bush", 5)  # no visitor: only the backlog goes out
        assert_clean(back)
        assert sub.wait_for(lambda _: len(events(sub)) >= len(stored), timeout=10)
        assert events(sub) == [(doc["id"], doc["state"]) for doc in stored]
    finally:
        sub.close()
        filler.unlink()


def test_killed_mid_clip_then_restarted_on_a_full_card(
    small_disk: Path, mosquitto: MosquittoBroker
) -> None:
    # what the issue saw: a crash left a clip half written, the card is full, and repair at
    # start met the full disk (under systemd: a restart loop that stops the alerts)
    data = small_disk / "data"
    args = ["--broker", mosquitto.url, "--data-dir", str(data), "--device-id", "full"]
    dev = DoorbellProcess(small_disk.parent / "p1", *args, "--camera", "synthetic:walk_up_ring")
    try:
        deadline = time.monotonic() + 30
        while not any(p.stat().st_size > 100_000 for p in data.glob("clips/*.partial")):
            assert time.monotonic() < deadline and dev.proc.poll() is None, dev.stderr
            time.sleep(0.05)
        dev.proc.send_signal(signal.SIGKILL)
        dev.proc.wait()
    finally:
        dev.kill()
    # no journal kept for the index (as an older version left it): repair cannot write a row
    (data / "index.sqlite-journal").unlink(missing_ok=True)
    fill(small_disk)
    sub = Subscriber(mosquitto.port, ["doorbell/full/event"])
    try:
        again = run(data, mosquitto.port, "walk_up_ring", 40)
        assert_clean(again)
        # the `end` the crash left unsent, then this run's visitor
        assert sub.wait_for(lambda _: [s for _, s in events(sub)][-2:] == ["start", "end"], 10)
    finally:
        sub.close()


def test_retention_keeps_a_share_of_a_small_disk_free_never_a_kept_clip(small_disk: Path) -> None:
    # three clips of ~100-200 KB each, on a 4 MB disk
    record(small_disk, [(3.0, 6.0), (22.0, 25.0), (41.0, 44.0)], 56.0)
    index = EventIndex(small_disk / "index.sqlite")
    first, second, third = index.clips()
    index.set_keep(first.id, True)
    # The default rule (512 MiB, capped at 10% of the disk: 400 KB) with 1 MB free: nothing goes.
    # Uncapped, it was larger than the disk and deleted every clip.
    filler = fill(small_disk, leave=1_000_000)
    assert enforce(index, small_disk, StorageConfig(), 0.0) == []
    # Less than 10% free: the oldest go first, until there is, never the kept one.
    filler.unlink()
    fill(small_disk, leave=second.bytes // 2)
    freed = enforce(index, small_disk, StorageConfig(), 0.0)
    assert freed and freed == [second.id, third.id][: len(freed)]
    assert (small_disk / first.file).exists() and index.clips()[0].id == first.id
    index.close()


def test_the_replay_guard_opens_on_a_full_disk_and_refuses_what_it_cannot_record(
    small_disk: Path,
) -> None:
    guard = ReplayGuard(small_disk / "replay-guard.sqlite")
    assert guard.claim("nonce", "first", 1.0)
    guard.close()
    fill(small_disk)
    guard = ReplayGuard(small_disk / "replay-guard.sqlite")  # a restart on the full card
    try:
        assert not guard.claim("nonce", "first", 2.0)  # a replay is still refused
        with pytest.raises(OSError) as refused:  # a new one cannot be recorded: not taken
            for n in range(10_000):
                guard.claim("nonce", f"new-{n}", 2.0)
        assert refused.value.errno == errno.ENOSPC
    finally:
        guard.close()


def test_a_first_start_on_a_card_already_full_is_one_line_not_a_traceback(
    small_disk: Path,
) -> None:
    # Nothing of the device exists yet and not a byte is free: its stores cannot be made. It
    # says so in one line (exit 2); a card that fills once the device runs is a state instead.
    fill(small_disk)
    done = run(small_disk / "data", free_port(), "walk_up_ring", 5)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"doorbell: cannot start in {small_disk / 'data'}: ")
    )
