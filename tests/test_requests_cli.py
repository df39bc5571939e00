"""`doorbell requests ...` against a real queue on disk."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from doorbell.config import DoorbellConfig
from doorbell.device.cli import cli
from doorbell.uplink.requests import FootageRequests
from tests.support.footage import T0, ListIndex, Signer, request_body


@pytest.fixture
def queued(tmp_path: Path) -> tuple[Path, FootageRequests]:
    """A device data dir with two requests waiting for review."""
    requester = Signer()
    config = DoorbellConfig.model_validate(
        {
            "device": {"id": "porch-cam", "data_dir": str(tmp_path)},
            "requests": {"trusted_keys": [requester.public], "allow_insecure_upload": True},
        }
    )
    core = FootageRequests(config, tmp_path, ListIndex([]), clock=lambda: T0)
    for rid in ("req-a", "req-b"):
        body = request_body(rid, T0 - 3600, T0 - 600, T0 + 3600, "http://127.0.0.1:9/{name}")
        assert core.handle_request(requester.sign(body)).decision == "pending_review"
    return tmp_path, core


def run(data_dir: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["requests", *args, "--data-dir", str(data_dir)])


def test_list_shows_the_queue(queued: tuple[Path, FootageRequests]) -> None:
    data_dir, core = queued
    result = run(data_dir, "list")
    assert result.exit_code == 0, result.output
    assert [line.split()[:2] for line in result.output.splitlines()] == [
        ["req-a", "pending"],
        ["req-b", "pending"],
    ]
    assert "police:Metro PD" in result.output
    rows = [json.loads(x) for x in run(data_dir, "list", "--json").output.splitlines()]
    assert rows[0]["requester"]["case"] == "2026-1187"
    assert rows[0]["window"]["start"].startswith("2026-")
    core.close()


def test_decline_from_the_cli_is_published_by_the_device(
    queued: tuple[Path, FootageRequests],
) -> None:
    data_dir, core = queued
    result = run(data_dir, "decline", "req-b")
    assert (result.exit_code, result.output) == (0, "req-b: declined\n")
    pending = run(data_dir, "list", "--pending").output
    assert "req-a" in pending and "req-b" not in pending
    [reply] = core.poll()  # the running device announces what the owner decided
    assert (reply.request_id, reply.decision) == ("req-b", "declined")
    again = run(data_dir, "decline", "req-b")
    assert again.exit_code == 2 and "not pending" in again.output
    core.close()
    # As the owner sees it: one line, not the library's log line as well.
    command = [sys.executable, "-m", "doorbell.device", "requests", "decline", "req-b"]
    done = subprocess.run([*command, "--data-dir", str(data_dir)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["doorbell: req-b: not pending (it is declined)"]


def test_unknown_request_is_a_clear_error(tmp_path: Path) -> None:
    result = run(tmp_path, "decline", "nope")
    assert result.exit_code == 2 and result.output.strip() == "doorbell: no request 'nope'"
    assert run(tmp_path, "list").output == "no requests\n"


def test_show_and_approve_with_the_real_clip_index(tmp_path: Path) -> None:
    import time

    from doorbell.device.storage import EventIndex
    from tests.support.footage import PutServer, make_clip

    now = time.time()  # the CLI runs on the real clock
    index = EventIndex(tmp_path / "index.sqlite")
    clip_sha = {}
    for clip_id, start in (("c-in", now - 3000), ("c-out", now - 7200)):
        clip = make_clip(tmp_path, clip_id, start)
        clip_sha[clip_id] = clip.sha256
        index.add_event(f"ev-{clip_id}", "motion", start)
        index.add_clip(clip_id, [f"ev-{clip_id}"], clip.file, start)
        index.finish_clip(clip_id, clip.file, clip.end_wall, 1.0, 10, clip.bytes, clip.sha256)
    index.close()
    requester, server = Signer(), PutServer()
    config = DoorbellConfig.model_validate(
        {
            "device": {"id": "porch-cam"},
            "requests": {"trusted_keys": [requester.public], "allow_insecure_upload": True},
        }
    )
    core = FootageRequests(config, tmp_path, None, clock=time.time)
    body = request_body("req-x", now - 3600, now - 600, now + 3600, server.url())
    assert core.handle_request(requester.sign(body)).decision == "pending_review"
    core.close()
    try:
        shown = json.loads(run(tmp_path, "show", "req-x").output)
        assert [c["id"] for c in shown["clips_in_window"]] == ["c-in"]
        result = run(
            tmp_path,
            "approve",
            "req-x",
            "--clips",
            "c-in",
            "--set",
            "requests.allow_insecure_upload=true",
            "--no-redact",  # the owner's choice for this request: as recorded, faces and all
        )
    finally:
        server.close()
    assert (result.exit_code, result.output) == (0, "req-x: shared (1 clip(s), as recorded)\n")
    assert sorted(r.path for r in server.received) == ["/upload/c-in.mp4"]
    [sent] = server.received
    assert hashlib.sha256(sent.body).hexdigest() == clip_sha["c-in"]
