"""The local web app: a Starlette application over one project, and the
uvicorn server that serves it on 127.0.0.1 (or, with a token, on the network).

Pages are rendered on the server from Jinja2 templates with autoescaping on,
so every input, output and reason from a dataset or a run reaches the page as
text. The CSS and the few lines of JavaScript (live progress) are package
files served from /static; nothing is loaded from the network, and a
Content-Security-Policy allows nothing but this server. The same library
functions as the CLI's do the work.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gitevals.errors import GitevalsError, NotFoundError
from gitevals.project import Project

from . import compare, dataset_edit, dataset_import, datasets, live, review, runs
from ._access import TokenGuard
from ._web import SameOriginGuard, render

__all__ = ["HOST", "bind", "create_app", "make_server"]

HOST = "127.0.0.1"
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
_HEADERS = [
    (b"content-security-policy", _CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


def _home(request: Request) -> Response:
    return RedirectResponse("/datasets", status_code=307)


def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GitevalsError)
    status = 404 if isinstance(exc, NotFoundError) else 400
    return render(request, "error.html", status, message=str(exc), status=status)


def _http_error(request: Request, exc: Exception) -> Response:
    """A URL no page answers (or a method it does not take): the error page, with the navigation."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no page at {request.url.path}"
    else:
        message = exc.detail
    response = render(request, "error.html", exc.status_code, message=message, status=exc.status_code)
    response.headers.update(exc.headers or {})  # e.g. Allow, with a 405
    return response


class _SecurityHeaders:
    """Adds the Content-Security-Policy and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(project: Project, *, token: str | None = None) -> Starlette:
    """The web app for `project`. Runs it starts live in its lifespan's task
    group: they are cancelled (and recorded as interrupted) when it stops.
    With `token`, every request must carry it (see `_access`), and the app
    answers to whatever name the browser calls it by."""
    registry = live.LiveRuns()
    guards = [Middleware(TokenGuard, token=token)] if token is not None else []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            registry.group = group
            try:
                yield
            finally:
                registry.group = None
                group.cancel_scope.cancel()

    app = Starlette(
        routes=[
            Route("/", _home),
            *datasets.routes, *dataset_edit.routes, *dataset_import.routes,
            *runs.routes,
            *live.routes,
            *compare.routes,
            *review.routes,
            Mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"),
        ],
        middleware=[Middleware(_SecurityHeaders), *guards, Middleware(SameOriginGuard, any_host=token is not None)],
        exception_handlers={GitevalsError: _error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.project = project
    app.state.live = registry
    app.state.edit_lock = anyio.Lock()
    return app


def bind(port: int, host: str = HOST) -> socket.socket:
    """A listening socket on `host`:`port` (0 picks a free port)."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise GitevalsError(f"cannot listen on {host}: {exc.strerror}",
                            hint="give an address or a name of this machine with --host") from None
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise GitevalsError(f"cannot listen on {host}:{port}: {exc.strerror}",
                            hint="choose another port with --port N (0 picks a free one)") from None
    sock.listen(128)
    return sock


def make_server(app: Any, *, log_level: str = "warning") -> Any:
    """A uvicorn server for `app`; start it with `server.run(sockets=[bind(port)])`."""
    import uvicorn

    config = uvicorn.Config(app, host=HOST, log_level=log_level, lifespan="on", timeout_graceful_shutdown=3,
                            access_log=False)
    return uvicorn.Server(config)
