"""The `http` target: any JSON endpoint, with a body template and a JSON path to the output."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gitevals._util.httpclient import DEFAULT_TIMEOUT_S, LoopClient, excerpt, json_headers, raise_for_status
from gitevals.errors import ConfigError

from ._base import TargetCall, TargetError, TargetResult
from ._template import PathError, check_template, format_path, lookup, names_in, parse_path, render

__all__ = ["HttpTarget"]

DEFAULT_BODY = {"input": "{{input}}", "options": "{{options}}"}
_NO_BODY = {"GET", "DELETE"}


class HttpTarget:
    """Sends each item to `url` as JSON and takes the output from the JSON answer.

    `body` and `params` are templates (see `models.HttpTargetConfig`); `output` is a
    JSON path into the answer. A non-2xx answer raises `httpx2.HTTPStatusError`, which
    the runner retries on 429 and 5xx; an answer that is not JSON, or lacks the
    path, is a `bad_output` error. `headers` are sent as given: resolve `${VAR}`
    before (`resolve_target` does).
    """

    remote = True  # its errors are located at the target, not in our client's frames
    carries_traceparent = True  # as an HTTP header

    def __init__(
        self,
        url: str,
        *,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        output: str | None = None,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.url = url
        self.method = method.upper()
        self.name = f"{self.method} {url}"
        self.body = DEFAULT_BODY if body is None else body
        self.params = dict(params or {})
        try:
            self.output_path = parse_path(output or "$")
            check_template(self.body)
            check_template(self.params)
        except ValueError as exc:
            raise ConfigError(f"http target: {exc}") from None
        # The server gets the item's mocks only where the body or the query says so.
        self.carries_tool_mocks = "tool_mocks" in names_in(self.body) | names_in(self.params)
        self._headers = json_headers(headers)
        self._http = LoopClient(timeout_s)

    async def __call__(self, call: TargetCall) -> TargetResult:
        scope = {
            "input": call.input,
            "options": dict(call.options),
            "context": dict(call.context),
            "request_context": dict(call.request_context) if call.request_context is not None else None,
            "id": call.item_id,
            "tool_mocks": dict(call.tool_mocks) if call.tool_mocks is not None else None,
            "unmocked_tools": call.unmocked_tools,
        }
        body = None if self.method in _NO_BODY else render(self.body, scope)
        params = {key: _param(value) for key, value in render(self.params, scope).items() if value is not None}
        async with self._http.client() as client:
            response = await client.request(
                self.method, self.url, json=body, params=params or None, headers={**self._headers, **call.trace_headers()}
            )
        raise_for_status(response)
        try:
            answer = response.json()
        except ValueError:
            raise TargetError(
                f"the answer from {self.name} is not JSON: {excerpt(response.text) or '(empty)'}", kind="bad_output"
            ) from None
        try:
            return TargetResult(output=lookup(answer, self.output_path))
        except PathError as exc:
            raise TargetError(
                f"the answer has no {format_path(self.output_path)}: {exc}", kind="bad_output"
            ) from None

    async def aclose(self) -> None:
        """Close this event loop's connections now rather than when the loop ends."""
        await self._http.aclose()


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return value
    return json.dumps(value, ensure_ascii=False)
