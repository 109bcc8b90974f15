"""The team server: the same app as ``labtrack ui`` with authentication and roles on.

Every request needs an API key (``Authorization: Bearer lt_...``) or a browser
session made on ``/login``; otherwise API routes answer 401 and pages redirect
to the login page. Each request then sees the store through a
:class:`~labtrack.server.scoped.ScopedStore` for its user. Failed logins are
rate-limited per client address. Keys and passwords are never logged.
"""


import re
import threading
import time
from collections import defaultdict, deque
from html import escape
from typing import Any
from urllib.parse import quote

from ..errors import AuthError, LabtrackError
from ..settings import Settings
from .auth import AuthService, User
from .scoped import ScopedStore

SESSION_COOKIE = "labtrack_session"
PUBLIC_PATHS = ("/login", "/api/v1/auth/login", "/static/", "/favicon.ico", "/healthz")
PROJECT_PATH = re.compile(r"^/api/v1/projects/([^/]+)")
MAX_FAILURES = 5
WINDOW = 60.0


class LoginLimiter:
    """At most MAX_FAILURES failed logins per client address per WINDOW seconds."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._failures[client]
            while q and now - q[0] > WINDOW:
                q.popleft()
            return len(q) >= MAX_FAILURES

    def failed(self, client: str) -> None:
        with self._lock:
            self._failures[client].append(time.monotonic())


def create_team_app(store: Any, blobs: Any = None, *, settings: Settings | None = None) -> Any:
    """The team server app over ``store`` (PostgreSQL or SQLite) and ``blobs`` (S3 or local)."""
    import anyio
    from fastapi import Form, Request
    from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

    from ._app import build_app
    from .deps import Services

    app = build_app(store, blobs, settings=settings)
    auth = AuthService(store)
    limiter = LoginLimiter()
    base: Services = app.state.services
    app.state.auth = auth

    def identify(request: Request) -> User | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return auth.authenticate_key(header[7:].strip())
        token = request.cookies.get(SESSION_COOKIE)
        return auth.session_user(token) if token else None

    @app.middleware("http")
    async def _authenticate(request: Request, call_next: Any) -> Any:
        path = request.url.path
        if path.startswith(PUBLIC_PATHS):
            return await call_next(request)
        user = await anyio.to_thread.run_sync(identify, request)
        if user is None:
            if path.startswith("/api/") or path.endswith(".json"):
                return JSONResponse({"error": "missing or invalid API key: send "
                                     "'Authorization: Bearer <key>' (labtrack login)",
                                     "type": "AuthError"}, status_code=401)
            return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
        scoped = ScopedStore(base.store, auth, user)
        request.state.user = user.name
        request.state.services = Services(store=scoped, blobs=base.blobs,
                                          settings=base.settings, chart_cache=base.chart_cache)
        match = PROJECT_PATH.match(path)
        if match:
            need = "reader" if request.method in ("GET", "HEAD") else "writer"
            try:
                await anyio.to_thread.run_sync(scoped.require, match.group(1), need)
            except LabtrackError as err:
                from .errors import error_body, status_for

                return JSONResponse(error_body(err), status_code=status_for(err))
        return await call_next(request)

    def _client(request: Request) -> str:
        return request.client.host if request.client else "?"

    @app.post("/api/v1/auth/login", tags=["auth"], summary="Log in with name and password")
    def api_login(request: Request, name: str = Form(...), password: str = Form(...)) -> Any:
        client = _client(request)
        if limiter.blocked(client):
            return JSONResponse({"error": "too many failed logins; wait a minute",
                                 "type": "AuthError"}, status_code=429)
        try:
            user = auth.check_password(name, password)
        except AuthError as err:
            limiter.failed(client)
            return JSONResponse({"error": str(err), "type": "AuthError"}, status_code=401)
        token = auth.create_session(user)
        response = JSONResponse({"user": user.name})
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                            max_age=7 * 24 * 3600)
        return response

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(next: str = "/", error: str = "") -> Any:
        return HTMLResponse(_LOGIN_PAGE.format(next=escape(next if next.startswith("/")
                                                           else "/"),
                                               error=escape(error)))

    @app.post("/login", include_in_schema=False)
    def login_form(request: Request, name: str = Form(""), password: str = Form(""),
                   next: str = Form("/")) -> Any:
        client = _client(request)
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        if limiter.blocked(client):
            return RedirectResponse("/login?error=" + quote("Too many attempts; wait a minute"),
                                    status_code=303)
        try:
            user = auth.check_password(name, password)
        except AuthError:
            limiter.failed(client)
            return RedirectResponse(f"/login?next={quote(target)}&error="
                                    + quote("Wrong user name or password"), status_code=303)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, auth.create_session(user), httponly=True,
                            samesite="strict", max_age=7 * 24 * 3600)
        return response

    @app.post("/api/v1/auth/logout", tags=["auth"], summary="End the browser session")
    def logout(request: Request) -> Any:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            auth.end_session(token)
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/api/v1/auth/me", tags=["auth"], summary="Who the key or session belongs to")
    def me(request: Request) -> Any:
        return {"user": getattr(request.state, "user", None)}

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Any:
        return {"ok": True}

    return app


_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>labtrack — log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/app.css"></head>
<body class="login-page">
<main style="max-width:360px;margin:12vh auto;font-family:system-ui,sans-serif">
<h1 style="font-size:1.6rem">labtrack</h1>
<p>Log in to the team server.</p>
<p role="alert" style="color:#b42318">{error}</p>
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label>User name<br><input name="name" autocomplete="username" required
 style="width:100%;padding:.5rem"></label><br><br>
<label>Password<br><input name="password" type="password" autocomplete="current-password"
 required style="width:100%;padding:.5rem"></label><br><br>
<button type="submit" style="padding:.5rem 1.2rem">Log in</button>
</form>
<p style="color:#667085;font-size:.9rem">Scripts use an API key instead:
<code>labtrack login URL</code>.</p>
</main></body></html>
"""
