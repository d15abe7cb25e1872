"""Who may use a UI that listens beyond this machine: whoever holds its token.

On a loopback address only this machine can connect, and SameOriginGuard's
Host check keeps other sites' pages out. Bound to any other address, anyone
on the network could connect, so every request must carry a secret token:
once in the query string (the URL `gitevals ui` prints), which sets an
HttpOnly, SameSite=Strict cookie and redirects to the same URL without the
token, so that it leaves the address bar and the history; after that, the
cookie. Scripts may send `Authorization: Bearer TOKEN` instead.

A browser that followed a link from another site would not send a Strict
cookie after an HTTP redirect (the navigation is still cross-site), so then
the redirect is a page of this server that moves on by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
import secrets
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gitevals.errors import GitevalsError

__all__ = ["TOKEN_ENV", "TokenGuard", "access_token", "is_loopback"]

TOKEN_ENV = "GITEVALS_UI_TOKEN"
_MIN_LENGTH = 16
_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Token needed · gitevals</title></head>
<body><h1>This gitevals UI needs its token</h1>
<p>Open the address that <code>gitevals ui</code> printed when it started: it ends in
<code>?token=…</code>. The token is kept in a cookie of this browser until it closes.</p></body></html>
"""
_MOVE_ON = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={url}">
<title>gitevals</title></head><body><p><a href="{url}">Open the gitevals UI</a></p></body></html>
"""


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) is this machine's loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def access_token(host: str, given: str | None = None) -> str | None:
    """The token the UI on `host` requires: `given` (from GITEVALS_UI_TOKEN),
    which is required even on loopback, else a new one unless `host` is loopback."""
    if given is not None:
        if len(given) < _MIN_LENGTH:
            raise GitevalsError(f"{TOKEN_ENV} is too short ({len(given)} characters) to keep the UI private",
                                hint=f"use at least {_MIN_LENGTH} random characters, e.g. from "
                                     "`python -c 'import secrets; print(secrets.token_urlsafe())'`")
        return given
    return None if is_loopback(host) else secrets.token_urlsafe(32)


class TokenGuard:
    """Answers only requests that carry the token (query, cookie or bearer
    header); the rest get 401: a short page for a browser, plain text for
    event streams, fetches and scripts."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()
        # Cookies ignore ports: named after the token, two servers on one host
        # do not overwrite each other's.
        self.cookie = "gitevals_ui_" + hashlib.sha256(self._token).hexdigest()[:12]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = request.query_params.get("token")
        if given is not None and self._valid(given) and scope["method"] in ("GET", "HEAD"):
            response = self._welcome(request, given)
        elif any(self._valid(t) for t in (given, request.cookies.get(self.cookie), _bearer(request))):
            await self.app(scope, receive, send)
            return
        else:
            response = _refused(request)
        await response(scope, receive, send)

    def _welcome(self, request: Request, token: str) -> Response:
        """The cookie, and on to this URL without the token."""
        location = _without_token(request)
        response: Response = RedirectResponse(location, status_code=303)
        if request.headers.get("sec-fetch-site") == "cross-site":
            response = HTMLResponse(_MOVE_ON.format(url=html.escape(location)), headers={"Cache-Control": "no-store"})
        response.set_cookie(self.cookie, token, path="/", httponly=True, samesite="strict")
        return response

    def _valid(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self._token)


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _without_token(request: Request) -> str:
    """This request's path and query, less the token (relative: the browser keeps its Host)."""
    rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
    path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    path = "/" + path.lstrip("/")  # never `//host`: that would leave this server
    return path + ("?" + rest if rest else "")


def _refused(request: Request) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="gitevals ui"', "Cache-Control": "no-store"}
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(_PAGE, status_code=401, headers=headers)
    return PlainTextResponse("401: this gitevals UI needs its token (the ?token=... of the address "
                             "`gitevals ui` printed)", status_code=401, headers=headers)
