"""HTTP plumbing shared by the targets and scorers that call servers.

One `httpx2.AsyncClient` per event loop (httpx's API; 5x httpx's speed under
many concurrent requests, `bench/http_bench.py`), reused by every call made in that loop
and closed when the loop shuts down. A target outlives event loops
(`run_evals` runs one loop per call) while a client's connections belong to
the loop that opened them, so a client is made lazily inside the running loop.
It is closed by an async generator parked at its first `yield`: asyncio
closes every such generator at shutdown (`loop.shutdown_asyncgens`, PEP 525),
so the connections are closed cleanly inside their own loop, with no help
from the runner. `aclose()` closes it earlier.

httpx2 is imported on first use: it costs a third of a second at start-up.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from gitevals.errors import ConfigError

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "LoopClient",
    "api_key",
    "excerpt",
    "json_headers",
    "raise_for_status",
    "status_message",
]

DEFAULT_TIMEOUT_S = 300.0
_EXCERPT = 300


class LoopClient:
    """Hands out the current event loop's client, making it on first use."""

    def __init__(self, timeout_s: float | None = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._clients: weakref.WeakKeyDictionary[Any, tuple[Any, Any]] = weakref.WeakKeyDictionary()

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Any]:
        """The loop's shared client; outside asyncio (trio), a client for this call only."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            async with self._new() as client:
                yield client
            return
        found = self._clients.get(loop)
        if found is None:
            client = self._new()
            keeper = _close_at_shutdown(client, self._clients)
            self._clients[loop] = (client, keeper)  # before the first await: no second client
            await keeper.__anext__()
            found = self._clients[loop]
        yield found[0]

    async def aclose(self) -> None:
        """Close the current loop's client now (it would be closed when the loop ends)."""
        found = self._clients.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found[1].aclose()

    def _new(self) -> Any:
        import httpx2

        # As many connections as calls run at once (the runner bounds those), all
        # kept alive between calls: no connection is opened twice in a run.
        limits = httpx2.Limits(max_connections=None, max_keepalive_connections=None)
        return httpx2.AsyncClient(timeout=self.timeout_s, limits=limits)


async def _close_at_shutdown(client: Any, clients: weakref.WeakKeyDictionary[Any, Any]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        clients.pop(asyncio.get_running_loop(), None)
        await client.aclose()


def api_key(env: str | None, what: str) -> str | None:
    """The value of the environment variable `env` (None when `env` is None);
    read when the run starts and never stored. Unset is a ConfigError."""
    if env is None:
        return None
    value = os.environ.get(env)
    if not value:
        raise ConfigError(
            f"{what} reads its API key from the environment variable {env}, which is not set",
            hint=f"export {env}=...; for a local server that needs no key, write `api_key_env: null`",
        )
    return value


def excerpt(text: str, limit: int = _EXCERPT) -> str:
    """`text`, cut to `limit` characters."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def status_message(response: Any) -> str:
    """`HTTP 503 Service Unavailable from POST <url>: <body excerpt>`, for errors."""
    request = response.request
    text = f"HTTP {response.status_code} {response.reason_phrase} from {request.method} {request.url}"
    body = excerpt(response.text) if response.content else ""
    return f"{text}: {body}" if body else text


def raise_for_status(response: Any) -> None:
    """`httpx.HTTPStatusError` for a non-2xx answer, its message with the start of the body.

    The runner retries it on 429 and 5xx, after the server's Retry-After."""
    if response.is_success:
        return
    import httpx2

    raise httpx2.HTTPStatusError(status_message(response), request=response.request, response=response)


def json_headers(headers: Mapping[str, str] | None, token: str | None = None) -> dict[str, str]:
    """Headers for a JSON request, with `Authorization: Bearer <token>` when given."""
    found = {"Accept": "application/json", **(headers or {})}
    if token is not None and not any(key.lower() == "authorization" for key in found):
        found["Authorization"] = f"Bearer {token}"
    return found
