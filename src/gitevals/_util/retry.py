"""Which failures are worth another try, how long to wait, and a shared rate limit.

Retryable: timeouts, connection errors, HTTP 429 and 5xx (from httpx2, the
OpenAI SDK or anything else that carries a status code), and `RetryableError`
raised by a target. Waits grow exponentially with full jitter, and never end
before a server's `Retry-After`.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

import anyio

__all__ = ["RateLimiter", "RetryableError", "backoff_s", "parse_rate", "retry_info"]

_BASE_S = 0.5
_CAP_S = 30.0
_RETRY_STATUS = {408, 409, 425, 429}
_TRANSIENT_NAMES = {
    "TimeoutException", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout", "ConnectError",
    "ReadError", "WriteError", "RemoteProtocolError", "NetworkError", "TransportError",
    "APITimeoutError", "APIConnectionError", "RateLimitError", "InternalServerError", "ServiceUnavailableError",
}


class RetryableError(Exception):
    """Raise from a target to have the call tried again (within the eval's
    `retries`), after at least `retry_after` seconds when given."""

    def __init__(self, message: str = "temporary failure", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_info(exc: BaseException) -> tuple[bool, float | None]:
    """(whether `exc` is worth retrying, the seconds the server asked to wait)."""
    if isinstance(exc, RetryableError):
        return True, exc.retry_after
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True, None
    status, headers = _status_and_headers(exc)
    if status is not None:
        return status in _RETRY_STATUS or status >= 500, _retry_after(headers)
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & _TRANSIENT_NAMES), None


def _status_and_headers(exc: BaseException) -> tuple[int | None, Any]:
    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None) or getattr(response, "status_code", None)
    if not isinstance(status, int):
        return None, None
    return status, getattr(response, "headers", None)


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # rare (an HTTP date), and email costs start-up time

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def backoff_s(attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait before try number `attempt + 1` (attempt counts from 1)."""
    ceiling = min(_CAP_S, _BASE_S * 2 ** (attempt - 1))
    wait = (rng or random).uniform(0, ceiling)  # full jitter: retries of many items spread out
    return max(wait, retry_after or 0.0)


_RATE_RE = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*(?:/|per)\s*(s|sec|second|m|min|minute)\s*", re.IGNORECASE)


def parse_rate(value: float | str) -> float:
    """Requests per second from `5`, `"5/s"`, `"300/min"` or `"300 per minute"`."""
    if isinstance(value, (int, float)):
        rate = float(value)
    else:
        found = _RATE_RE.fullmatch(value)
        if found is None:
            raise ValueError(f"cannot read the rate {value!r}; write it like 5/s or 300/min")
        rate = float(found.group(1)) / (60.0 if found.group(2).lower().startswith("m") else 1.0)
    if rate <= 0:
        raise ValueError("a rate limit must be above 0")
    return rate


class RateLimiter:
    """Spaces calls evenly at `rate` per second across all concurrent items."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        now = anyio.current_time()
        start = max(now, self._next)
        self._next = start + self.interval
        if start > now:
            await anyio.sleep(start - now)
