"""The audit log: hash-chained, and `doorbell audit verify` names the first changed entry."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from click.testing import CliRunner

from device.cli import cli
from uplink.requests.audit import AuditLog


def filled(tmp_path: Path, n: int = 5) -> AuditLog:
    clock = iter(range(1_790_000_000, 1_790_000_000 + n))
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
    from uplink.requests.audit import entry_hash

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


def _append_many(path: str, tag: str) -> None:
    log = AuditLog(Path(path))
    for i in range(50):
        log.append("request_received", {"request_id": f"{tag}-{i}"})


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


def test_empty_log_verifies(tmp_path: Path) -> None:
    assert run(tmp_path, "audit", "verify") == (0, "audit log intact: 0 entries\n")


@pytest.mark.parametrize("args", [["audit", "list"], ["audit", "list", "--json"]])
def test_list_of_nothing(tmp_path: Path, args: list[str]) -> None:
    code, out = run(tmp_path, *args)
    assert code == 0 and out in ("no entries\n", "")
