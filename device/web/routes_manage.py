"""Pages that change how the device works: zones and masks, footage requests, settings."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from doorbell.config.editing import POLYGON_KEYS
from doorbell.device.web.pages import answer, ctx, form_or_json, render
from doorbell.device.web.routes_view import SAFE_ID
from doorbell.uplink.messages import iso_utc

SECRET_WORDS = ("password", "secret", "token", "private")
REDACTED = "(redacted)"


# -- zones and masks ---------------------------------------------------------------------------
async def zones_page(request: web.Request) -> web.Response:
    config = ctx(request).device.config()
    current = {
        "privacy_masks": [p.model_dump(mode="json") for p in config.privacy.masks],
        "motion_zones": [p.model_dump(mode="json") for p in config.motion.zones],
    }
    return render(request, "zones.html", current=current, kinds=tuple(POLYGON_KEYS))


async def save_zones(request: web.Request) -> web.Response:
    fields = await form_or_json(request)
    reply, refused = await ctx(request).change(
        "polygons", {"kind": fields.get("kind"), "polygons": fields.get("polygons")}
    )
    return answer(request, reply.ok, reply.error, "/zones", 400 if refused else 409)


# -- footage requests --------------------------------------------------------------------------
def _requests_view(request: web.Request) -> dict[str, Any]:
    context = ctx(request)
    core = context.device.requests
    rows = []
    for stored in sorted(core.in_states(), key=lambda s: s.received_at, reverse=True):
        req = stored.request
        clips = core.matching_clips(req.request_id) if stored.state == "pending" else []
        rows.append(
            {
                "id": req.request_id,
                "state": stored.state,
                "who": f"{req.requester.kind}: {req.requester.name}",
                "received": iso_utc(stored.received_at.timestamp()),
                "case": req.requester.case,
                "window": f"{iso_utc(req.window.start_wall)} to {iso_utc(req.window.end_wall)}",
                "reason": req.reason,
                "deadline": iso_utc(stored.deadline.timestamp()),
                "clips": [
                    {"id": str(c.id), "start": iso_utc(c.start_wall), "seconds": c.seconds}
                    for c in clips
                ],
                "shared": len(stored.clips),
                "error": stored.error,
            }
        )
    entries = list(context.audit.entries())[-100:]
    return {"requests": rows, "audit": list(reversed(entries)), "check": context.audit.verify()}


async def requests_page(request: web.Request) -> web.Response:
    loop = asyncio.get_running_loop()
    view = await loop.run_in_executor(None, _requests_view, request)
    return render(request, "requests.html", **view)


async def review(request: web.Request) -> web.Response:
    request_id = request.match_info["id"]
    if not SAFE_ID.match(request_id):
        raise web.HTTPBadRequest(text="bad id")
    fields = await form_or_json(request)
    approve = request.match_info["decision"] == "approve"
    clips: Any = None
    redact: Any = None  # the device's requests.redact
    if approve:
        if request.content_type == "application/json":
            clips = fields.get("clips")
            redact = fields.get("redact")
        else:
            clips = (await request.post()).getall("clips", []) or None
            if clips is None and fields.get("some") == "yes":
                clips = []  # the form said "only these" and ticked none
            redact = "none" if fields.get("no_redact") == "yes" else None
    if approve and clips == []:
        return answer(request, False, "choose at least one clip to share", "/requests")
    reply, refused = await ctx(request).change(
        "footage_review",
        {"footage_request": request_id, "approve": approve, "clips": clips, "redact": redact},
    )
    return answer(request, reply.ok, reply.error, "/requests", 400 if refused else 409)


# -- settings ----------------------------------------------------------------------------------
def redact(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if value is not None and any(word in key.lower() for word in SECRET_WORDS):
        return REDACTED
    return value


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        return [item for k, v in value.items() for item in flatten(v, f"{prefix}{k}.")]
    return [(prefix.rstrip("."), value)]


async def settings_page(request: web.Request) -> web.Response:
    context = ctx(request)
    config = redact(context.device.config().model_dump(mode="json"))
    origin = context.device.origin
    rows = [(key, value, origin(key)) for key, value in flatten(config)]
    return render(request, "settings.html", rows=rows)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/zones", zones_page)
    router.add_post("/zones", save_zones)
    router.add_get("/requests", requests_page)
    router.add_post("/requests/{id}/{decision:approve|decline}", review)
    router.add_get("/settings", settings_page)
