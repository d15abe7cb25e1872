"""What every page shares: templates (autoescaped), formatting filters, query
strings, server-sent events, and the guard that keeps the app local and its
POSTs same-origin."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from gitevals._util.words import _number, error_counts, gate_parts, plural

from ._diff import mostly_equal

__all__ = ["PAGE_SIZE", "SameOriginGuard", "form_text", "page_of", "parse_value", "query", "render", "segment",
           "sse", "templates"]

PAGE_SIZE = 50
_HERE = Path(__file__).parent
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CELL = 20_000  # characters of one value shown on a page


def parse_value(text: str) -> Any:
    """What a form field holds: JSON when it parses as JSON, else the text itself
    (as `gitevals dataset add --input` reads it)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _pretty(value: Any, limit: int = _CELL) -> str:
    """A JSON value as text: strings as they are, the rest as indented JSON."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str)
    if len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit} more characters)"
    return text


def _short(value: Any, limit: int = 80) -> str:
    """One line of at most `limit` characters for any JSON value."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def _when(value: str | None) -> str:
    """An ISO timestamp as a person reads it, in UTC to the second: `2026-11-23 09:35:55 UTC`."""
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.tzinfo is not None else "")


def _seconds(value: float | None) -> str:
    """A duration with its unit: `0.08 s`, `12.3 s`, `4 min 05 s`."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f} s"
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _breakable(name: Any) -> Markup:
    """A dotted name (`trajectory.tool_call_accuracy`), escaped, that may wrap after each dot."""
    return Markup(".<wbr>").join(escape(part) for part in str(name).split("."))


def _gate(gate: Any) -> tuple[str, str, str]:
    """(mark, subject, detail) of a gate, worded as the CLI words it."""
    return gate_parts(gate.scorer, gate.metric, gate.threshold, gate.actual, gate.passed)


def segment(value: Any) -> str:
    """A value quoted for one path segment of a URL."""
    return quote(str(value), safe="")


templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(_HERE / "templates")),
    autoescape=True,  # every value from a dataset or a run is model or user text
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(pretty=_pretty, short=_short, num=_num, pct=_pct, signed=_signed, seg=segment,
                         plural=plural, error_counts=error_counts, gate=_gate, limit=_number, when=_when, seconds=_seconds,
                         breakable=_breakable, mostly_equal=mostly_equal)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page `template` rendered with `context`."""
    page = templates.get_template(template).render(request=request, query=lambda **c: query(request, **c), **context)
    return HTMLResponse(page, status_code=status_code)


def query(request: Request, **changes: Any) -> str:
    """This page's query string with `changes` applied (None drops a key), as `?a=1&b=2`."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else "?"


def sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    """One server-sent event: its id (what `Last-Event-ID` resumes from), name and JSON data."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def page_of(rows: list[Any], page: str | None, size: int = PAGE_SIZE) -> tuple[list[Any], dict[str, int]]:
    """One page of `rows` (1-based `page` from a query string) and where it is."""
    pages = max(1, math.ceil(len(rows) / size))
    try:
        number = min(max(1, int(page or 1)), pages)
    except ValueError:
        number = 1
    start = (number - 1) * size
    return rows[start:start + size], {"page": number, "pages": pages, "first": start + 1 if rows else 0,
                                      "last": min(start + size, len(rows)), "total": len(rows)}


class SameOriginGuard:
    """The app answers only as the local server it is, and changes state only
    for pages it served itself.

    Every request must name the server in its Host header (127.0.0.1 or
    localhost, with the server's port): a page elsewhere that rebinds its DNS
    name to 127.0.0.1 cannot read it. A request that is not GET, HEAD or
    OPTIONS must come with an Origin (or, without one, a Referer) of that same
    host and port; anything else is refused with 403.

    With `any_host` (a server on the network, which requires its token: a
    rebound page has no token) the browser may call the server by any name or
    address, and the Host it used is the own origin POSTs must come from.
    """

    def __init__(self, app: ASGIApp, any_host: bool = False) -> None:
        self.app = app
        self.any_host = any_host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = _host_of("//" + headers.get("host", ""), scope.get("scheme", "http"))
        allowed = {host} if self.any_host and host else _own_hosts(scope)
        if host not in allowed:
            await PlainTextResponse("unknown Host: this server answers only as " + min(allowed),
                                    status_code=400)(scope, receive, send)
            return
        if scope["method"] not in _SAFE_METHODS:
            source = headers.get("origin") or headers.get("referer") or ""
            if _host_of(source) not in allowed:
                await PlainTextResponse("refused: a change must come from a page of this server",
                                        status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _own_hosts(scope: Scope) -> set[str]:
    """`host:port` names this server answers to."""
    host, port = scope.get("server") or ("127.0.0.1", 80)
    names = {str(host).lower()}
    if names & _LOOPBACK:
        names |= {"127.0.0.1", "localhost"}
    return {f"{name}:{port}" for name in names}


def _host_of(url: str, scheme: str | None = None) -> str | None:
    """`host:port` of an Origin or Referer value (or of `//Host`), the scheme's
    default port filled in; None when it names no host."""
    if not url or url == "null":
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme or scheme
    if not parts.hostname or scheme not in _DEFAULT_PORTS:
        return None
    return f"{parts.hostname.lower()}:{port or _DEFAULT_PORTS[scheme]}"


def form_text(form: Mapping[str, Any], key: str) -> str:
    """A text field of a submitted form, stripped; empty when absent. Browsers
    send a textarea's line breaks as CRLF: they become LF, as in the files."""
    value = form.get(key)
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""
