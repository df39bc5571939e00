"""The aiohttp application: templates, security headers, login and sessions, CSRF on every
change, and the routes of each page (device.web.routes_*)."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

from aiohttp import web

from doorbell.device.web import routes_manage, routes_view
from doorbell.device.web.context import PageContext
from doorbell.device.web.pages import CONTEXT, SESSION, ctx, local_target, render, wants_json

STATIC = Path(__file__).parent / "static"
COOKIE = "doorbell_session"
OPEN_PATHS = ("/login", "/static/")  # reachable without a session
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)


@web.middleware
async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
    context = ctx(request)
    session = context.sessions.get(request.cookies.get(COOKIE))
    request[SESSION] = session
    if session is None and not request.path.startswith(OPEN_PATHS):
        if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}")
        raise web.HTTPUnauthorized(text="log in first")
    if request.method not in ("GET", "HEAD"):
        origin = request.headers.get("Origin")
        # By host only: behind a TLS proxy the browser says https, the proxy talks http to us.
        if origin is not None and urlsplit(origin).netloc != request.host:
            raise web.HTTPForbidden(text="cross-site request refused")
        if session is not None:
            sent = request.headers.get("X-CSRF-Token")
            if sent is None and not wants_json(request):
                sent = str((await request.post()).get("csrf", ""))
            if not hmac.compare_digest(sent or "", session.csrf):
                raise web.HTTPForbidden(text="missing or wrong CSRF token")
    response = await handler(request)
    if response.prepared:  # a stream (server-sent events) has sent its headers already
        return response
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")  # no-referrer: Origin null
    response.headers.setdefault("Cache-Control", "no-store")
    return response


async def login_page(request: web.Request) -> web.Response:
    return render(
        request,
        "login.html",
        next=local_target(request.query.get("next"), "/live"),
        has_password=ctx(request).passwords.exists(),
        error=None,
    )


async def login(request: web.Request) -> web.Response:
    context = ctx(request)
    form = await request.post()
    target = local_target(form.get("next"), "/live")
    address = request.remote or "?"
    if not context.limiter.begin(address):  # counted now, before any password is checked
        return render(
            request,
            "login.html",
            status=429,
            next=target,
            has_password=True,
            error="too many failed logins: wait a few minutes",
        )
    password = str(form.get("password", ""))
    loop = asyncio.get_running_loop()
    async with context.checking:  # one Argon2 check at a time: a burst waits, costs no memory
        right = await loop.run_in_executor(None, context.passwords.verify, password)
    if not right:
        return render(
            request,
            "login.html",
            status=401,
            next=target,
            has_password=context.passwords.exists(),
            error="wrong password",
        )
    context.limiter.succeeded(address)
    session = context.sessions.create()
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        COOKIE,
        session.token,
        httponly=True,
        samesite="Strict",
        path="/",
        max_age=int(context.config.session_hours * 3600),
    )
    raise response


async def logout(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE)
    if token:
        ctx(request).sessions.drop(token)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/live")


def make_app(context: PageContext) -> web.Application:
    app = web.Application(middlewares=[security], client_max_size=256 * 1024)
    app[CONTEXT] = context
    app.router.add_get("/", home)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    routes_view.add_routes(app.router)
    routes_manage.add_routes(app.router)
    app.router.add_static("/static/", STATIC)
    return app
