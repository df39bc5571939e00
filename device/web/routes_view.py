"""Pages that show: live picture and health (and the mode switch), events, one clip."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from datetime import UTC, datetime, timedelta

from aiohttp import web

from doorbell.config.device import EVENT_LABELS, MODES
from doorbell.device.runtime.telemetry import disk_usage
from doorbell.device.storage.index import ClipRow
from doorbell.device.web.event_feed import event_json
from doorbell.device.web.pages import answer, ctx, form_or_json, local_target, render
from doorbell.uplink.messages import iso_utc

EVENT_TYPES = ("motion", "ring", "package", "stationary")
WRITE_SECONDS = 5.0  # a browser that does not take an event within this is dropped
KEEPALIVE_SECONDS = 15.0
SAFE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def _id(request: web.Request) -> str:
    value = request.match_info["id"]
    if not SAFE_ID.match(value) or ".." in value:
        raise web.HTTPBadRequest(text="bad id")
    return value


# -- live --------------------------------------------------------------------------------------
async def live_page(request: web.Request) -> web.Response:
    device = ctx(request).device
    polygons = {
        "motion_zones": [z.model_dump(mode="json") for z in device.config().motion.zones],
        "privacy_masks": [m.model_dump(mode="json") for m in device.config().privacy.masks],
    }
    return render(
        request,
        "live.html",
        modes=MODES,
        mode=device.mode(),
        polygons=polygons,
        refresh_ms=int(1000 / ctx(request).config.live_fps),
        jpeg_only="jpeg" in request.query,
    )


async def live_jpeg(request: web.Request) -> web.Response:
    loop = asyncio.get_running_loop()
    picture = await loop.run_in_executor(None, ctx(request).live.latest)
    if picture is None:
        raise web.HTTPServiceUnavailable(text="no frame yet")
    return web.Response(
        body=picture.jpeg, content_type="image/jpeg", headers={"X-Frame-Seq": str(picture.seq)}
    )


async def live_video(request: web.Request) -> web.StreamResponse:
    return await ctx(request).video.serve(request)


async def live_codec(request: web.Request) -> web.Response:
    codec = ctx(request).video.codec()
    if codec is None:
        raise web.HTTPServiceUnavailable(text="no encoded stream (recording is off)")
    return web.json_response({"codec": codec})


async def health(request: web.Request) -> web.Response:
    device = ctx(request).device
    counters = device.counters()
    used_pct, free = disk_usage(device.data_dir)
    return web.json_response(
        {
            "mode": device.mode(),
            "broker_connected": device.broker_connected(),
            "outbox_backlog": counters.outbox_backlog,
            "disk_used_pct": used_pct,
            "disk_free_bytes": free,
            "fps": round(counters.fps, 1),
            "dropped_camera": counters.dropped_camera,
            "dropped_analysis": counters.dropped_analysis,
            "dropped_recording": counters.dropped_recording,
            "recording": counters.recording,
        }
    )


async def set_mode(request: web.Request) -> web.Response:
    fields = await form_or_json(request)
    reply, _ = await ctx(request).change("mode", {"mode": fields.get("mode")})
    return answer(request, reply.ok, reply.error, "/live")


# -- events ------------------------------------------------------------------------------------
def _day_range(day: str) -> tuple[float, float]:
    try:
        start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise web.HTTPBadRequest(text="day: expected YYYY-MM-DD") from None
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


async def events_page(request: web.Request) -> web.Response:
    day, kind = request.query.get("day", ""), request.query.get("type", "")
    label = request.query.get("label", "")
    if kind and kind not in EVENT_TYPES:
        raise web.HTTPBadRequest(text=f"type: one of {', '.join(EVENT_TYPES)}")
    if label and label not in EVENT_LABELS:
        raise web.HTTPBadRequest(text=f"label: one of {', '.join(EVENT_LABELS)}")
    since, until = _day_range(day) if day else (0.0, 1e18)
    index = ctx(request).device.index
    loop = asyncio.get_running_loop()
    rows = await loop.run_in_executor(
        None, lambda: index.latest_events(200, since, until, kind or None, label or None)
    )
    return render(
        request,
        "events.html",
        events=[event_json(r) for r in rows],
        day=day,
        kind=kind,
        types=EVENT_TYPES,
        label=label,
        labels=EVENT_LABELS,
        newest=rows[0].start_wall if rows else 0.0,
    )


async def events_stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: one `data:` line of JSON per new or changed event."""
    try:
        since = float(request.query.get("since", "0"))
    except ValueError:
        raise web.HTTPBadRequest(text="since: a number") from None
    feed = ctx(request).feed
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    watcher = await feed.watch(since)
    try:
        await asyncio.wait_for(response.write(b": watching\n\n"), WRITE_SECONDS)
        while True:
            try:
                item = await asyncio.wait_for(watcher.queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                data = b": keepalive\n\n"
            else:
                if item is None:
                    break
                data = f"data: {json.dumps(item)}\n\n".encode()
            await asyncio.wait_for(response.write(data), WRITE_SECONDS)
    except (TimeoutError, ConnectionError):
        pass  # a slow or gone browser is dropped; EventSource reconnects by itself
    finally:
        feed.leave(watcher)
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


async def event_picture(request: web.Request) -> web.StreamResponse:
    event_id, which = _id(request), request.match_info["which"]
    files = ctx(request).files
    path = files.thumbnail(event_id) if which == "thumb" else files.snapshot(event_id)
    if path.exists():
        return web.FileResponse(path, headers={"Content-Type": "image/jpeg"})
    if path.with_name(path.name + ".age").exists():
        raise web.HTTPConflict(text="stored encrypted at rest")
    raise web.HTTPNotFound(text="no such picture")


# -- clips -------------------------------------------------------------------------------------
def _clip(request: web.Request) -> ClipRow:
    clip = ctx(request).device.index.get_clip(_id(request))
    if clip is None:
        raise web.HTTPNotFound(text="no such clip")
    return clip


def _encrypted(clip: ClipRow) -> bool:
    return clip.file.endswith(".age")


async def clip_page(request: web.Request) -> web.Response:
    clip = _clip(request)
    return render(
        request,
        "clip.html",
        clip=clip,
        start=iso_utc(clip.start_wall),
        encrypted=_encrypted(clip),
        playable=clip.state != "recording" and not _encrypted(clip),
    )


async def clip_video(request: web.Request) -> web.StreamResponse:
    """The MP4 itself, with Range support (seeking in the <video> element)."""
    clip = _clip(request)
    if _encrypted(clip):
        raise web.HTTPConflict(text="stored encrypted at rest: export it with its identity")
    if clip.state == "recording":
        raise web.HTTPConflict(text="still recording")
    path = ctx(request).files.resolve(clip.file)
    headers = {"Content-Type": "video/mp4"}
    if request.match_info.get("download"):
        headers["Content-Disposition"] = f'attachment; filename="{clip.id}.mp4"'
    return web.FileResponse(path, headers=headers)


async def clip_keep(request: web.Request) -> web.Response:
    clip_id = _id(request)
    fields = await form_or_json(request)
    keep = str(fields.get("keep", "true")).lower() in ("true", "1", "yes", "on")
    reply, refused = await ctx(request).change("clip_keep", {"clip_id": clip_id, "keep": keep})
    back = local_target(fields.get("next"), f"/clips/{clip_id}")
    return answer(request, reply.ok, reply.error, back, 400 if refused else 404)


async def clip_delete(request: web.Request) -> web.Response:
    clip_id = _id(request)
    reply, refused = await ctx(request).change("clip_delete", {"clip_id": clip_id})
    return answer(request, reply.ok, reply.error, "/events", 400 if refused else 404)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/live", live_page)
    router.add_get("/live.jpg", live_jpeg)
    router.add_get("/live/video.mp4", live_video)
    router.add_get("/live/codec", live_codec)
    router.add_get("/api/health", health)
    router.add_post("/mode", set_mode)
    router.add_get("/events", events_page)
    router.add_get("/events/stream", events_stream)
    router.add_get("/events/{id}/{which:thumb|snapshot}.jpg", event_picture)
    router.add_get("/clips/{id}", clip_page)
    router.add_get("/clips/{id}/video.mp4", clip_video)
    router.add_get("/clips/{id}/{download:download}", clip_video)
    router.add_post("/clips/{id}/keep", clip_keep)
    router.add_post("/clips/{id}/delete", clip_delete)
