"""The `openai` target: an OpenAI-compatible chat completions endpoint, over httpx2."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from gitevals._util.httpclient import DEFAULT_TIMEOUT_S, LoopClient, excerpt, json_headers, raise_for_status

from ._base import TargetCall, TargetError, TargetResult

__all__ = ["OpenAITarget", "chat_messages", "message_text"]

_USAGE = {"prompt_tokens": "input_tokens", "completion_tokens": "output_tokens", "total_tokens": "total_tokens"}


class OpenAITarget:
    """POSTs `{model, messages, ...}` to `<base_url>/chat/completions`.

    The input is a string (one user message), a list of `{role, content}`
    messages, or `{"messages": [...]}`; any other value is sent as its JSON
    text. The output is the first choice's message content; its tool calls
    become `tool_call` steps after one `model_call` step with the tokens used.
    Options (`target_options`, `start_options`) are added to the request body.
    """

    remote = True  # its errors are located at the target, not in our client's frames

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.model = model
        self.name = f"openai {model}"
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.system = system
        fixed = {"temperature": temperature, "max_tokens": max_tokens}
        self.params = {**{k: v for k, v in fixed.items() if v is not None}, **(params or {})}
        self._headers = json_headers(headers, api_key)
        self._http = LoopClient(timeout_s)

    async def __call__(self, call: TargetCall) -> TargetResult:
        messages = chat_messages(call.input, self.system)
        body = {"model": self.model, "messages": messages, **self.params, **call.options}
        began = time.perf_counter()
        async with self._http.client() as client:
            response = await client.post(self.url, json=body, headers=self._headers)
        elapsed_ms = round((time.perf_counter() - began) * 1000, 3)
        raise_for_status(response)
        answer = _json(response, self.url)
        choice = _first_choice(answer, self.url)
        message = choice.get("message") or {}
        output = message_text(message.get("content"))
        usage = {
            ours: float(answer["usage"][theirs])
            for theirs, ours in _USAGE.items()
            if isinstance(answer.get("usage"), Mapping) and _number(answer["usage"].get(theirs))
        }
        if isinstance(answer.get("usage"), Mapping) and _number(answer["usage"].get("cost")):
            usage["cost"] = float(answer["usage"]["cost"])  # OpenRouter and others report it
        model_step: dict[str, Any] = {"type": "model_call", "name": str(answer.get("model") or self.model),
                                      "result": output, "duration_ms": elapsed_ms}
        if usage:
            model_step["tokens"] = {
                key: int(usage[f"{key}_tokens"]) for key in ("input", "output", "total") if f"{key}_tokens" in usage
            }
        tools = [_tool_step(c) for c in message.get("tool_calls") or [] if isinstance(c, Mapping)]
        metadata = {"finish_reason": choice.get("finish_reason"), "model": answer.get("model")}
        return TargetResult(
            output=output,
            trajectory=[model_step, *tools],
            usage=usage or None,
            metadata={k: v for k, v in metadata.items() if v is not None} or None,
        )

    async def aclose(self) -> None:
        """Close this event loop's connections now rather than when the loop ends."""
        await self._http.aclose()


def chat_messages(value: Any, system: str | None = None) -> list[dict[str, Any]]:
    """Chat messages from an item's input, with `system` first unless they hold one."""
    if isinstance(value, Mapping) and isinstance(value.get("messages"), list):
        value = value["messages"]
    if isinstance(value, list):
        for index, message in enumerate(value):
            if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
                raise TargetError(
                    f"input message [{index}] is not a {{role, content}} mapping: {excerpt(repr(message), 120)}",
                    kind="bad_input",
                )
        messages = [dict(m) for m in value]
    else:
        content = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        messages = [{"role": "user", "content": content}]
    if system is not None and not any(m["role"] == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": system})
    return messages


def message_text(content: Any) -> Any:
    """A message's content as text; a list of parts is joined from its text parts."""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return content


def _json(response: Any, url: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise TargetError(f"the answer from {url} is not JSON: {excerpt(response.text) or '(empty)'}",
                          kind="bad_output") from None


def _first_choice(answer: Any, url: str) -> Mapping[str, Any]:
    choices = answer.get("choices") if isinstance(answer, Mapping) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        problem = answer.get("error") if isinstance(answer, Mapping) and answer.get("error") else answer
        raise TargetError(
            f"the answer from {url} has no choices: {excerpt(json.dumps(problem, ensure_ascii=False))}",
            kind="bad_output",
        )
    return choices[0]


def _tool_step(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            pass  # kept as the model wrote it: a scorer may judge malformed arguments
    return {"type": "tool_call", "name": str(function.get("name") or "?"), "args": arguments, "result": None}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
