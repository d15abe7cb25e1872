"""What agent frameworks return, unwrapped: the real output, and the tool calls
their own message history holds.

A Python target may be a framework's agent named directly (`my_agent:agent`,
whose `run` the target calls) or a function returning what the framework
returned. Recorded as it is, that is `AgentRunResult(output='...')` with the
tool calls lost. Recognised by their shape, never by importing a framework:

- PydanticAI's `AgentRunResult`: `.output`, `.all_messages()` (tool calls and
  their returns, matched by call id), `.usage`;
- OpenAI Agents SDK's `RunResult`: `.final_output`, `.new_items`;
- LangChain / LangGraph: a state with `messages`, or a message list, or one
  message: the last message's content, and each `tool_calls` entry with the
  `ToolMessage` that answered it.

Their steps are a fallback trajectory: spans captured with `trace: otel` and
`@trace` decorators, which know durations and nesting, are used first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._base import TargetResult

__all__ = ["unwrap"]


def unwrap(value: Any) -> TargetResult:
    """`value` as a TargetResult, its framework wrapping taken off."""
    if isinstance(value, TargetResult):
        return value
    if hasattr(value, "all_messages") and hasattr(value, "output"):
        return _pydantic_ai(value)
    if hasattr(value, "final_output") and hasattr(value, "new_items"):
        return _openai_agents(value)
    messages = _langchain_messages(value)
    if messages:
        return TargetResult(output=_content(messages[-1]), fallback_trajectory=_langchain_steps(messages) or None)
    return TargetResult(output=value)


def _pydantic_ai(result: Any) -> TargetResult:
    calls: dict[str, dict[str, Any]] = {}
    steps: list[dict[str, Any]] = []
    for message in result.all_messages():
        for part in getattr(message, "parts", ()):
            kind = getattr(part, "part_kind", "")
            if kind == "tool-call":
                step = {"type": "tool_call", "name": part.tool_name, "args": _arguments(part.args)}
                calls[part.tool_call_id] = step
                steps.append(step)
            elif kind == "tool-return" and part.tool_call_id in calls:
                calls[part.tool_call_id]["result"] = part.content
            elif kind == "retry-prompt" and getattr(part, "tool_call_id", None) in calls:
                calls[part.tool_call_id]["error"] = str(part.content)
    usage = getattr(result, "usage", None)
    if callable(usage):  # a method in older releases
        usage = usage()
    tokens = {key: float(getattr(usage, key)) for key in ("input_tokens", "output_tokens")
              if isinstance(getattr(usage, key, None), int)}
    return TargetResult(output=result.output, usage=tokens or None, fallback_trajectory=steps or None)


def _openai_agents(result: Any) -> TargetResult:
    calls: dict[str, dict[str, Any]] = {}
    steps: list[dict[str, Any]] = []
    for item in result.new_items:
        raw = getattr(item, "raw_item", None)
        kind = getattr(item, "type", "")
        if kind == "tool_call_item":
            step = {"type": "tool_call", "name": _field(raw, "name"), "args": _arguments(_field(raw, "arguments"))}
            calls[str(_field(raw, "call_id"))] = step
            steps.append(step)
        elif kind == "tool_call_output_item" and str(_field(raw, "call_id")) in calls:
            calls[str(_field(raw, "call_id"))]["result"] = getattr(item, "output", None)
    return TargetResult(output=result.final_output, fallback_trajectory=steps or None)


def _field(raw: Any, name: str) -> Any:
    return raw.get(name) if isinstance(raw, Mapping) else getattr(raw, name, None)


def _langchain_messages(value: Any) -> list[Any]:
    """The messages of a LangGraph state, a message list or one message; [] for anything else."""
    if isinstance(value, Mapping) and isinstance(value.get("messages"), Sequence):
        value = value["messages"]
    if _is_message(value):
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, str) and value and all(map(_is_message, value)):
        return list(value)
    return []


def _is_message(value: Any) -> bool:
    return hasattr(value, "content") and hasattr(value, "type") and type(value).__module__.startswith("langchain")


def _content(message: Any) -> Any:
    content = message.content
    if isinstance(content, list):  # content blocks: the text of each
        texts = [block.get("text", "") if isinstance(block, Mapping) else str(block) for block in content]
        return "".join(texts)
    return content


def _langchain_steps(messages: list[Any]) -> list[dict[str, Any]]:
    calls: dict[str, dict[str, Any]] = {}
    steps: list[dict[str, Any]] = []
    for message in messages:
        for call in getattr(message, "tool_calls", None) or []:
            step = {"type": "tool_call", "name": call.get("name"), "args": dict(call.get("args") or {})}
            calls[str(call.get("id"))] = step
            steps.append(step)
        if message.type == "tool" and str(getattr(message, "tool_call_id", None)) in calls:
            step = calls[str(message.tool_call_id)]
            if getattr(message, "status", "success") == "error":
                step["error"] = _content(message)
            else:
                step["result"] = _content(message)
    return steps


def _arguments(args: Any) -> Any:
    """Tool arguments as a mapping: frameworks hand them over as JSON text or a dict."""
    if isinstance(args, str):
        try:
            return json.loads(args)
        except ValueError:
            return args
    return dict(args) if isinstance(args, Mapping) else args
