"""The `mastra` target: an agent or a workflow on a running Mastra server (its REST API).

The answers' shapes are those of @mastra/server 1.x: an agent's `generate`
gives `text`, `toolCalls` / `toolResults` (each with a `payload`) and
`totalUsage`; a workflow's `start-async` gives `status`, `steps` by id,
`stepExecutionPath` and `result`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast
from urllib.parse import quote

from gitevals import trace
from gitevals._util.httpclient import DEFAULT_TIMEOUT_S, LoopClient, excerpt, json_headers, raise_for_status
from gitevals.errors import ConfigError, did_you_mean

from ._base import TargetCall, TargetError, TargetResult

__all__ = ["MastraTarget"]

_USAGE = {"inputTokens": "input_tokens", "outputTokens": "output_tokens", "totalTokens": "total_tokens"}


class MastraTarget:
    """Calls agent `agent` (`POST /api/agents/<id>/generate`) or runs workflow
    `workflow` (`create-run`, then `start-async`, which answers when it ends).

    Agents take a string (one user message) or a list of messages; workflows take
    the input as `inputData`. Options are sent with the request, snake_case keys
    in camelCase (`max_steps` -> `maxSteps`); an item's `request_context` is sent
    as `requestContext`.
    """

    remote = True  # its errors are located at the target, not in our client's frames
    carries_traceparent = True  # as an HTTP header

    def __init__(
        self,
        base_url: str,
        *,
        agent: str | None = None,
        workflow: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
    ) -> None:
        if (agent is None) == (workflow is None):
            raise ConfigError("a mastra target takes exactly one of `agent: <id>` or `workflow: <id>`")
        self.base_url = re.sub(r"/api/?$", "", base_url.rstrip("/"))
        self.kind, self.id = ("agent", agent) if agent is not None else ("workflow", cast(str, workflow))  # one is set
        self.name = f"mastra {self.kind} {self.id}"
        self._headers = json_headers(headers)
        self._http = LoopClient(timeout_s)

    async def __call__(self, call: TargetCall) -> TargetResult:
        body = {key if "_" not in key else _camel(key): value for key, value in call.options.items()}
        if call.request_context is not None:
            body["requestContext"] = dict(call.request_context)
        headers = {**self._headers, **call.trace_headers()}
        async with self._http.client() as client:
            if self.kind == "agent":
                path = f"/api/agents/{quote(self.id, safe='')}/generate"
                return _agent_result(await self._post(client, path, {**body, "messages": _messages(call.input)}, headers=headers))
            base = f"/api/workflows/{quote(self.id, safe='')}"
            created = await self._post(client, f"{base}/create-run", {}, headers=headers)
            run_id = created.get("runId") if isinstance(created, Mapping) else None
            params = {"runId": run_id} if isinstance(run_id, str) else None
            answer = await self._post(client, f"{base}/start-async", {**body, "inputData": call.input}, params,
                                      headers=headers)
            if params is not None:
                await self._add_step_inputs(client, f"{base}/runs/{quote(params['runId'], safe='')}", answer)
        return _workflow_result(answer, self.id)

    async def aclose(self) -> None:
        """Close this event loop's connections now rather than when the loop ends."""
        await self._http.aclose()

    async def _post(self, client: Any, path: str, body: Any, params: Mapping[str, str] | None = None,
                    headers: Mapping[str, str] | None = None) -> Any:
        response = await client.post(self.base_url + path, json=body, params=params,
                                     headers=self._headers if headers is None else headers)
        if response.status_code == 404:
            raise TargetError(await self._unknown(client, response), kind="not_found")
        if response.status_code == 400:
            raise TargetError(f"{self.name}: {_server_error(response)}", kind="bad_request")
        raise_for_status(response)
        try:
            return response.json()
        except ValueError:
            raise TargetError(f"{self.name}: the answer is not JSON: {excerpt(response.text) or '(empty)'}",
                              kind="bad_output") from None

    async def _add_step_inputs(self, client: Any, path: str, answer: Any) -> None:
        """`start-async` leaves out what each step was given; the stored run has it
        (`payload`). Best effort: without it the steps simply have no `args`."""
        states = answer.get("steps") if isinstance(answer, Mapping) else None
        if not isinstance(states, dict) or all(
            not isinstance(v, Mapping) or "payload" in v for k, v in states.items() if k != "input"
        ):
            return
        try:
            response = await client.get(self.base_url + path, headers=self._headers)
            stored = response.json().get("steps") if response.is_success else None
        except Exception:  # an older server, a store that keeps no runs: the answer stands as it is
            return
        if not isinstance(stored, Mapping):
            return
        for name, state in states.items():
            found = stored.get(name)
            if isinstance(state, Mapping) and isinstance(found, Mapping) and "payload" in found:
                states[name] = {**state, "payload": found["payload"]}

    async def _unknown(self, client: Any, response: Any) -> str:
        """Which id is unknown, with the ids the server does know when it says."""
        message = f"the Mastra server at {self.base_url} has no {self.kind} {self.id!r} ({_server_error(response)})"
        try:
            listing = await client.get(f"{self.base_url}/api/{self.kind}s", headers=self._headers)
            known = listing.json() if listing.is_success else None
        except Exception:  # the listing only improves the message
            known = None
        hint = did_you_mean(self.id, known) if isinstance(known, Mapping) else None
        return f"{message}; {hint}" if hint else message


def _messages(value: Any) -> Any:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("messages"), list):
        return value["messages"]
    raise TargetError(
        f"a Mastra agent takes a string or a list of messages as input, not {type(value).__name__}",
        kind="bad_input",
    )


def _agent_result(answer: Any) -> TargetResult:
    if not isinstance(answer, Mapping) or "text" not in answer:
        raise TargetError(f"the agent's answer has no `text`: {excerpt(repr(answer))}", kind="bad_output")
    calls = [_payload(c) for c in answer.get("toolCalls") or []]
    results = {r.get("toolCallId"): r for r in map(_payload, answer.get("toolResults") or [])}
    steps = []
    for call in calls:  # in call order, each with its result
        steps.append(_tool_step(call, results.pop(call.get("toolCallId"), None)))
    steps += [_tool_step(result, result) for result in results.values()]  # results of calls not listed
    raw = answer.get("totalUsage") or answer.get("usage") or {}
    usage = {ours: float(raw[theirs]) for theirs, ours in _USAGE.items() if _number(raw.get(theirs))}
    finish = answer.get("finishReason")
    return TargetResult(
        output=answer["text"],
        trajectory=steps,
        usage=usage or None,
        metadata={"finish_reason": finish} if finish else None,
    )


def _payload(chunk: Any) -> Mapping[str, Any]:
    if not isinstance(chunk, Mapping):
        return {}
    payload = chunk.get("payload")
    return payload if isinstance(payload, Mapping) else chunk


def _tool_step(call: Mapping[str, Any], result: Mapping[str, Any] | None) -> dict[str, Any]:
    step: dict[str, Any] = {"type": "tool_call", "name": str(call.get("toolName") or "?"), "args": call.get("args")}
    if result is not None and result.get("isError"):
        step["error"] = _message(result.get("result"))
    else:
        step["result"] = None if result is None else result.get("result")
    return step


def _workflow_result(answer: Any, workflow: str) -> TargetResult:
    if not isinstance(answer, Mapping) or "status" not in answer:
        raise TargetError(f"the workflow's answer has no `status`: {excerpt(repr(answer))}", kind="bad_output")
    steps = answer.get("steps")
    states: Mapping[str, Any] = steps if isinstance(steps, Mapping) else {}
    path = [s for s in answer.get("stepExecutionPath") or list(states) if s != "input"]
    trajectory = [_workflow_step(name, states.get(name)) for name in path]
    status = answer["status"]
    metadata = {"run_id": answer.get("runId"), "status": status}
    if status == "success":
        return TargetResult(output=answer.get("result"), trajectory=trajectory, metadata=metadata)
    failed = next((s for s in trajectory if "error" in s), None)
    if failed is not None:
        message = f"workflow {workflow!r} {status} at step {failed['name']!r}: {failed['error']}"
    else:
        message = f"workflow {workflow!r} ended {status}" + (
            f": {_message(answer['error'])}" if answer.get("error") else ""
        )
    for step in trajectory:  # an error carries no result: the run's recorder keeps the steps that ran
        trace.record("workflow_step", step["name"], args=step.get("args"), result=step.get("result"),
                     error=step.get("error"), duration_ms=step.get("duration_ms"))
    ran = [s["name"] for s in trajectory]
    raise TargetError(message + (f" (steps run: {', '.join(ran)})" if ran else ""),
                      kind="workflow_failed" if status == "failed" else f"workflow_{status}")


def _workflow_step(name: str, state: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"type": "workflow_step", "name": name}
    if not isinstance(state, Mapping):
        return step
    for key in ("payload", "input"):
        if state.get(key) is not None:
            step["args"] = state[key]
            break
    if state.get("error") is not None or state.get("status") == "failed":
        step["error"] = _message(state.get("error")) or "failed"
    else:
        step["result"] = state.get("output")
    began, ended = _ms(state.get("startedAt")), _ms(state.get("endedAt"))
    if began is not None and ended is not None:
        step["duration_ms"] = round(ended - began, 3)
    return step


def _server_error(response: Any) -> str:
    try:
        found = response.json()
    except ValueError:
        found = None
    if isinstance(found, Mapping) and found.get("error"):
        return _message(found["error"])
    return f"HTTP {response.status_code} {excerpt(response.text)}".strip()


def _message(error: Any) -> str:
    if isinstance(error, Mapping):
        return str(error.get("message") or error.get("name") or error)
    return "" if error is None else str(error)


def _ms(value: Any) -> float | None:
    if _number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000
        except ValueError:
            return None
    return None


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
