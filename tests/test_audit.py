"""The audit log: hash-chained, and `doorbell audit verify` names the first changed entry."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from click.testing import CliRunner

from doorbell.device.cli import cli
from doorbell.uplink.requests.audit import AuditLog
from doorbell.uplink.requests.audit_head import AuditHead


def filled(tmp_path: Path, n: int = 5) -> AuditLog:
    clock = iter(range(1_790_000_000, 1_790_000_000 + n + 100))
    log = AuditLog.in_dir(tmp_path, clock=lambda: float(next(clock)))
    for i in range(n):
        log.append("request_received", {"request_id": f"req-{i}", "requester": {"name": "PD"}})
    return log


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, "--data-dir", str(tmp_path)])
    return result.exit_code, result.output


def lines(log: AuditLog) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.path.read_text().splitlines()]


def rewrite(log: AuditLog, entries: list[dict[str, object]]) -> None:
    log.path.write_text("".join(json.dumps(e) + "\n" for e in entries))


def test_chain_verifies_and_lists(tmp_path: Path) -> None:
    log = filled(tmp_path)
    check = log.verify()
    assert (check.ok, check.entries) == (True, 5)
    entries = lines(log)
    assert entries[0]["prev"] == "0" * 64
    assert all(entries[i]["prev"] == entries[i - 1]["hash"] for i in range(1, 5))
    assert run(tmp_path, "audit", "verify") == (0, "audit log intact: 5 entries\n")
    code, out = run(tmp_path, "audit", "list", "--json")
    assert code == 0 and [json.loads(x)["seq"] for x in out.splitlines()] == [1, 2, 3, 4, 5]
    code, out = run(tmp_path, "audit", "list")
    assert code == 0 and "req-3" in out and "2026-" in out


def test_edited_entry_is_found(tmp_path: Path) -> None:
    log = filled(tmp_path)
    entries = lines(log)
    entries[2]["data"] = {"request_id": "req-2", "requester": {"name": "someone else"}}
    rewrite(log, entries)
    check = log.verify()
    assert (check.ok, check.first_bad, check.entries) == (False, 3, 2)
    code, out = run(tmp_path, "audit", "verify")
    assert code == 1 and "line 3" in out and "hash" in out


def test_rehashed_edit_breaks_the_next_link(tmp_path: Path) -> None:
    from doorbell.uplink.requests.audit import entry_hash

    log = filled(tmp_path)
    entries = lines(log)
    entries[1]["kind"] = "request_declined"
    entries[1]["hash"] = entry_hash(entries[1])  # a careful forger recomputes this one
    rewrite(log, entries)
    check = log.verify()
    assert (check.ok, check.first_bad) == (False, 3)
    assert "chain" in check.reason


def test_deleted_entry_is_found(tmp_path: Path) -> None:
    log = filled(tmp_path)
    entries = lines(log)
    del entries[1]
    rewrite(log, entries)
    check = log.verify()
    assert (check.ok, check.first_bad) == (False, 2)


def test_garbage_line_is_found(tmp_path: Path) -> None:
    log = filled(tmp_path)
    with log.path.open("a") as f:
        f.write("{not json\n")
    assert log.verify().first_bad == 6


def _append_many(path: str, tag: str, max_bytes: int = 16 << 20, n: int = 50) -> None:
    log = AuditLog(Path(path), max_bytes=max_bytes)
    for i in range(n):
        log.append("request_received", {"request_id": f"{tag}-{i}", "pad": "x" * 100})


def test_appends_from_two_processes_keep_one_chain(tmp_path: Path) -> None:
    path = str(tmp_path / "audit.jsonl")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(path, tag)) for tag in ("cli", "device")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    check = AuditLog(Path(path)).verify()
    assert (check.ok, check.entries) == (True, 100)


def test_verify_while_another_process_appends_sees_no_cut(tmp_path: Path) -> None:
    """An entry written between reading the log and reading the remembered head is no cut."""
    path = tmp_path / "audit.jsonl"
    AuditLog(path).append("start", {})
    writer = multiprocessing.get_context("spawn").Process(
        target=_append_many, args=(str(path), "device")
    )
    writer.start()
    checks = []
    while writer.is_alive():
        checks.append(AuditLog(path).verify())
    writer.join()
    assert checks and all(c.ok for c in checks), next(c for c in checks if not c.ok)


def test_two_processes_rotating_at_once_keep_one_chain(tmp_path: Path) -> None:
    path = str(tmp_path / "audit.jsonl")
    ctx = multiprocessing.get_context("spawn")
    args = [(path, tag, 256 * 1024, 600) for tag in ("cli", "device")]
    procs = [ctx.Process(target=_append_many, args=a) for a in args]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    log = AuditLog(Path(path), max_bytes=256 * 1024)
    assert log.segments()  # it did rotate, while both wrote
    check = log.verify(head=log.head())
    assert check.ok, check
    assert list(log.entries())[-1]["seq"] == 1200


def test_empty_log_verifies(tmp_path: Path) -> None:
    assert run(tmp_path, "audit", "verify") == (0, "audit log intact: 0 entries\n")


@pytest.mark.parametrize("args", [["audit", "list"], ["audit", "list", "--json"]])
def test_list_of_nothing(tmp_path: Path, args: list[str]) -> None:
    code, out = run(tmp_path, *args)
    assert code == 0 and out in ("no entries\n", "")


def test_rotation_keeps_one_chain_across_segments_and_bounds_the_disk(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=64 * 1024)
    for i in range(2000):  # ~300 KB of entries through a 64 KB budget
        log.append("request_received", {"request_id": f"req-{i}", "reason": "x" * 60})
    sizes = [p.stat().st_size for p in log.files()]
    assert len(log.segments()) == 3 and sum(sizes) <= 64 * 1024 + 4096
    check = log.verify(head=log.head())
    assert check.ok, check
    entries = list(log.entries())
    assert entries[-1]["seq"] == 2000 and entries[0]["seq"] > 1  # the oldest went first
    assert [e["seq"] for e in entries] == list(range(entries[0]["seq"], 2001))
    # an edit inside an older segment is still found
    oldest = log.segments()[0]
    text = oldest.read_text().splitlines()
    text[3] = text[3].replace("req-", "REQ-")
    oldest.write_text("\n".join(text) + "\n")
    assert log.verify().reason == "content does not match its hash"


def test_a_cut_tail_is_found_against_the_published_head(tmp_path: Path) -> None:
    log = filled(tmp_path, 6)
    head = log.head()
    assert head is not None
    assert run(tmp_path, "audit", "verify", "--head", head)[0] == 0
    kept = log.path.read_text().splitlines()[:4]  # the last two entries cut off
    log.path.write_text("\n".join(kept) + "\n")
    # What is left still chains, but it no longer reaches the head published off-device, nor
    # the one the device remembers writing.
    code, out = run(tmp_path, "audit", "verify", "--head", head)
    assert code == 1 and "CUT" in out
    check = log.verify()
    assert not check.ok and "does not end where the device last wrote it (seq 6)" in check.reason


def test_a_cut_tail_is_recorded_alerted_and_never_verifies_again(tmp_path: Path) -> None:
    """Cut the tail, then let the device write again: the next entry must not hide the cut."""
    log = filled(tmp_path, 6)
    heads: list[AuditHead] = []
    alerts: list[dict[str, object]] = []
    log.on_append, log.on_tamper = heads.append, alerts.append
    kept = log.path.read_text().splitlines()[:4]
    log.path.write_text("\n".join(kept) + "\n")
    log.append("command", {"command": "mode", "by": "local", "fields": {"mode": "home"}})
    tamper, after = lines(log)[-2:]
    assert tamper["kind"] == "tamper" and tamper["seq"] == 5
    assert tamper["data"]["expected"]["seq"] == 6 and tamper["data"]["found"]["seq"] == 4
    assert after["kind"] == "command" and after["prev"] == tamper["hash"]
    assert [a["kind"] for a in alerts] == ["tamper"]  # published (device: <base>/audit/alert)
    # The head published off the device carries seq and prev: a subscriber that saw seq 6 sees
    # seq 6 again with another hash, and a prev that is not the hash it saw before.
    assert heads == [AuditHead(6, str(after["hash"]), str(tamper["hash"]))]
    code, out = run(tmp_path, "audit", "verify")
    assert code == 1 and "TAMPERED at line 5" in out and "cut or rewound" in out
    for i in range(3):  # and it keeps failing, whatever is written after
        log.append("command", {"n": i})
    assert not log.verify().ok and log.verify().first_bad == 5
    assert len(alerts) == 1  # one cut, one alert


def test_a_cut_while_the_device_was_off_is_found_at_start(tmp_path: Path) -> None:
    log = filled(tmp_path, 3)
    assert log.check_tail() is None  # intact: nothing written
    log.path.write_text(log.path.read_text().splitlines()[0] + "\n")
    tamper = AuditLog.in_dir(tmp_path).check_tail()
    assert tamper is not None and tamper["kind"] == "tamper" and tamper["seq"] == 2
    assert AuditLog.in_dir(tmp_path).check_tail() is None  # recorded once


def test_a_junk_request_flood_grows_the_audit_log_by_a_bounded_amount(tmp_path: Path) -> None:
    from doorbell.config import DoorbellConfig
    from doorbell.uplink.requests import FootageRequests
    from tests.support.footage import ListIndex, Signer

    now = [1_790_000_000.0]
    config = DoorbellConfig.model_validate(
        {"requests": {"trusted_keys": [Signer().public]}, "device": {"data_dir": str(tmp_path)}}
    )
    core = FootageRequests(config, tmp_path, ListIndex([]), clock=lambda: now[0])
    for i in range(5000):  # 5,000 junk requests over ~8 minutes
        core.handle_request(b'{"request_id": "junk-%d", "x": 1}' % i)
        now[0] += 0.1
        if i % 100 == 0:
            core.poll()
    core.close()
    entries = list(AuditLog.in_dir(tmp_path).entries())
    assert len(entries) <= 10  # one a minute, with the counts
    assert sum(e["data"]["total"] for e in entries) == 5000
