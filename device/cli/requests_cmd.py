"""`doorbell requests list|show ID|approve ID [--clips ...] [--no-redact]|decline ID`: the owner's
review queue.

Decisions made here are stored; the running device publishes the replies (its `poll()`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from doorbell.config import LoadedConfig
from doorbell.device.cli.options import config_options, fail
from doorbell.device.redaction import WORKER
from doorbell.device.redaction.people import person_model
from doorbell.device.storage import EventIndex
from doorbell.uplink.messages import iso_utc
from doorbell.uplink.requests import FootageRequests, RequestReply, StoredRequest, footage_requests
from doorbell.uplink.requests.clips import ClipIndex
from doorbell.uplink.requests.redaction_worker import WorkerRedactor


def _open_index(loaded: LoadedConfig) -> Any:
    return EventIndex(loaded.config.device.data.index)


@contextmanager
def _requests(loaded: LoadedConfig, with_index: bool = False) -> Iterator[FootageRequests]:
    index: ClipIndex | None = _open_index(loaded) if with_index else None
    if with_index and index is None:
        fail("the clip index is not available on this install")
    # The refusal's log line is for the device's log; here `_finish` tells the owner, once.
    logging.getLogger(footage_requests.__name__).setLevel(logging.ERROR)
    core = FootageRequests(
        loaded.config,
        loaded.config.device.data_dir,
        index,
        publishes_replies=False,
        redactor=WorkerRedactor(module=WORKER, people_model=person_model()),  # heads too
    )
    try:
        yield core
    finally:
        core.close()
        if index is not None and hasattr(index, "close"):
            index.close()


def _get(core: FootageRequests, request_id: str) -> StoredRequest:
    stored = core.get(request_id)
    if stored is None:
        fail(f"no request {request_id!r}")
    return stored


def _summary(stored: StoredRequest) -> dict[str, Any]:
    req = stored.request
    return {
        "request_id": req.request_id,
        "state": stored.state,
        "requester": req.requester.model_dump(),
        "window": {"start": iso_utc(req.window.start_wall), "end": iso_utc(req.window.end_wall)},
        "reason": req.reason,
        "received": iso_utc(stored.received_at.timestamp()),
        "deadline": iso_utc(stored.deadline.timestamp()),
        "shared": [c.model_dump() for c in stored.clips] if stored.state == "shared" else [],
        "error": stored.error,
        "redaction": stored.redaction.model_dump() if stored.redaction else None,
    }


def _finish(reply: RequestReply, why: str | None = None) -> None:
    """`why`: what the owner may know that the requester's reply does not say."""
    if reply.ok:
        clips = ""
        if reply.decision == "shared":
            method = reply.redaction.method if reply.redaction else None
            how = {"faces": ", faces filled", "none": ", as recorded", None: ""}[method]
            clips = f" ({len(reply.clips)} clip(s){how})"
        click.echo(f"{reply.request_id}: {reply.decision}{clips}")
        return
    click.echo(f"doorbell: {reply.request_id}: {why or reply.error}", err=True)
    raise SystemExit(2 if reply.decision == "refused" else 1)


@click.group("requests")
def requests_group() -> None:
    """Footage requests: review, approve or decline; see what was shared."""


@requests_group.command("list")
@config_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per request.")
@click.option("--pending", is_flag=True, help="Only requests waiting for a decision.")
def list_requests(loaded: LoadedConfig, as_json: bool, pending: bool) -> None:
    """Every request the device received (not those refused as invalid: see `audit list`)."""
    with _requests(loaded) as core:
        rows = core.in_states(("pending",) if pending else ())
    for stored in rows:
        s = _summary(stored)
        if as_json:
            click.echo(json.dumps(s))
            continue
        who = f"{s['requester']['kind']}:{s['requester']['name']}"
        window = f"{s['window']['start']} .. {s['window']['end']}"
        click.echo(f"{s['request_id']:<24} {s['state']:<13} {who:<28} {window}")
    if not rows and not as_json:
        click.echo("no requests")


@requests_group.command("show")
@config_options
@click.argument("request_id")
def show(loaded: LoadedConfig, request_id: str) -> None:
    """One request, and the clips of its window that approving would share."""
    with _requests(loaded, with_index=True) as core:
        s = _summary(_get(core, request_id))
        clips = core.matching_clips(request_id)
    s["clips_in_window"] = [
        {"id": str(c.id), "start": iso_utc(c.start_wall), "seconds": c.seconds} for c in clips
    ]
    click.echo(json.dumps(s, indent=2))


@requests_group.command("approve")
@config_options
@click.argument("request_id")
@click.option(
    "--clips",
    "clip_ids",
    multiple=True,
    metavar="ID[,ID...]",
    help="Share only these clips of the window (default: all of them).",
)
@click.option(
    "--no-redact",
    is_flag=True,
    help="Share as recorded, faces included (this request only; default: requests.redact).",
)
def approve(
    loaded: LoadedConfig, request_id: str, clip_ids: tuple[str, ...], no_redact: bool
) -> None:
    """Share the request's clips now (uploads from this process)."""
    chosen = [c for arg in clip_ids for c in arg.split(",") if c] or None
    with _requests(loaded, with_index=True) as core:
        _get(core, request_id)
        reply = core.approve(
            request_id, chosen, by="owner-cli", redact="none" if no_redact else None
        )
        stored = core.get(request_id)
    why = stored.error if stored is not None and reply.decision == "upload_failed" else None
    _finish(reply, f"upload failed: {why}" if why else None)


@requests_group.command("decline")
@config_options
@click.argument("request_id")
def decline(loaded: LoadedConfig, request_id: str) -> None:
    """Answer no; nothing is shared."""
    with _requests(loaded) as core:
        _get(core, request_id)
        reply = core.decline(request_id, by="owner-cli")
    _finish(reply)
