"""What every route uses: the page context, templates, posted fields, and a change's answer."""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from doorbell.device.web.auth import Session
from doorbell.device.web.context import PageContext

CONTEXT: web.AppKey[PageContext] = web.AppKey("context", PageContext)
SESSION: web.RequestKey[Session | None] = web.RequestKey("session", Session)

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("doorbell.device.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def ctx(request: web.Request) -> PageContext:
    return request.app[CONTEXT]


def render(request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
    session = request.get(SESSION)
    html = _templates.get_template(name).render(
        csrf=session.csrf if session else "",
        path=request.path,
        signed_in=session is not None,
        **values,
    )
    return web.Response(text=html, content_type="text/html", status=status)


def wants_json(request: web.Request) -> bool:
    return request.content_type == "application/json"


async def form_or_json(request: web.Request) -> dict[str, Any]:
    """The posted fields; bad input raises HTTPBadRequest."""
    if wants_json(request):
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="body is not JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return data
    return dict(await request.post())


def local_target(value: object, default: str) -> str:
    """Where to go after a change: a path on this page only, never another site."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value
    return default


def answer(
    request: web.Request, ok: bool, error: str | None, back: str, status: int = 400
) -> web.Response:
    """A change's outcome: JSON for the page's scripts, a redirect (or an error page) for forms."""
    if wants_json(request):
        return web.json_response({"ok": ok, "error": error}, status=200 if ok else status)
    if ok:
        raise web.HTTPSeeOther(back)
    return render(request, "refused.html", status=status, error=error, back=back)
