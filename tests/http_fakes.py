"""Real HTTP servers on 127.0.0.1 for the targets and scorers that call servers.

Each fake is a function `(Request) -> (status, body, headers)` served by a
ThreadingHTTPServer on port 0 in a daemon thread, speaking HTTP/1.1 so that
clients keep their connections alive as they would with a real server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    client_port: int
    raw: bytes = b""
    at: float = field(default_factory=time.monotonic)
    """When it arrived (time.monotonic)."""


Answer = tuple[int, Any, dict[str, str]]
Handler = Callable[[Request], Answer]


@dataclass
class FakeServer:
    """A running fake; `requests` holds every request in arrival order."""

    handler: Handler
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                url = urlsplit(self.path)
                request = Request(
                    self.command,
                    url.path,
                    {k: v[0] for k, v in parse_qs(url.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    self.client_address[1],
                    raw,
                )
                fake.requests.append(request)
                try:
                    status, answer, headers = fake.handler(request)
                except Exception as exc:  # a fake's own bug shows as a 500 naming it
                    status, answer, headers = 500, {"error": f"fake failed: {exc!r}"}, {}
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                if not isinstance(answer, bytes):
                    self.send_header("Content-Type", "application/json")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
