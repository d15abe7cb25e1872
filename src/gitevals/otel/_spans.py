"""Spans to trajectory steps, by the conventions agent frameworks follow.

OpenTelemetry's GenAI conventions (PydanticAI, Logfire, the OpenAI Agents SDK
bridge) say what a span is in `gen_ai.operation.name`; OpenInference (its
LangChain, LlamaIndex and other instrumentations) in `openinference.span.kind`.
A span of neither kind (an HTTP request, a database query) is left out, and
its children take its place. Parents are kept as `children`, siblings run in
the order they started, and each step keeps the span's ids so the same trace
can be found in the user's own tracing backend.

Nothing here imports OpenTelemetry: spans arrive as `SpanRecord`s, from the SDK
in this process or decoded from OTLP.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gitevals.trace import Recorder

__all__ = ["SpanRecord", "merged_trajectory", "steps_from_spans", "tokens_of"]

_GENAI_KINDS = {"execute_tool": "tool_call", "chat": "model_call", "text_completion": "model_call",
                "generate_content": "model_call", "embeddings": "embedding", "invoke_agent": "agent_run",
                "create_agent": "agent_run"}
_OPENINFERENCE_KINDS = {"TOOL": "tool_call", "LLM": "model_call", "AGENT": "agent_run", "CHAIN": "workflow_step",
                        "RETRIEVER": "retrieval", "EMBEDDING": "embedding", "RERANKER": "retrieval"}


@dataclass(frozen=True)
class SpanRecord:
    """One finished span, as much of it as a trajectory needs."""

    name: str
    trace_id: str
    """32 hex digits."""
    span_id: str
    """16 hex digits."""
    parent_id: str | None
    start_ns: int
    """Nanoseconds since the epoch, as OpenTelemetry counts them."""
    end_ns: int
    attributes: Mapping[str, Any]
    error: str | None = None
    """The status description of a span that ended in error."""


def steps_from_spans(spans: Iterable[SpanRecord]) -> list[tuple[int, dict[str, Any]]]:
    """The trajectory the spans describe, as (start ns, step) of the top-level
    steps in the order they started (the start times let `@trace` steps be
    merged in)."""
    spans = sorted(spans, key=lambda s: (s.start_ns, s.span_id))
    children: dict[str | None, list[SpanRecord]] = {}
    known = {span.span_id: span for span in spans}
    for span in spans:
        children.setdefault(span.parent_id if span.parent_id in known else None, []).append(span)

    def build(parent: str | None) -> list[tuple[int, dict[str, Any]]]:
        found = []
        for span in children.get(parent, []):
            below = build(span.span_id)
            step = _step(span, known.get(span.parent_id or ""))
            if step is None:  # not an agent's span: its children stand in its place
                found.extend(below)
                continue
            if below:
                step["children"] = [child for _, child in below]
            found.append((span.start_ns, step))
        return found

    return build(None)


def tokens_of(steps: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Input and output tokens of every model call among `steps` and their children."""
    total = {"input_tokens": 0.0, "output_tokens": 0.0}
    for step in steps:
        tokens = step.get("tokens") or {}
        if step.get("type") == "model_call":
            total["input_tokens"] += tokens.get("input", 0)
            total["output_tokens"] += tokens.get("output", 0)
        for key, value in tokens_of(step.get("children") or []).items():
            total[key] += value
    return total


def _step(span: SpanRecord, parent: SpanRecord | None) -> dict[str, Any] | None:
    attributes = span.attributes
    kind = _GENAI_KINDS.get(str(attributes.get("gen_ai.operation.name")))
    kind = kind or _OPENINFERENCE_KINDS.get(str(attributes.get("openinference.span.kind")))
    if kind is None:
        return None
    step: dict[str, Any] = {"type": kind, "name": _name(kind, span)}
    args, result = _io(kind, attributes)
    if kind == "tool_call":
        args, result = _langchain_tool_call(step["name"], args, result, parent)
    if args is not None:
        step["args"] = args
    if span.error is not None:
        step["error"] = span.error
    elif result is not None:
        step["result"] = result
    step["duration_ms"] = round((span.end_ns - span.start_ns) / 1e6, 3)
    tokens = _tokens(attributes)
    if tokens:
        step["tokens"] = tokens
    step["span_id"], step["trace_id"] = span.span_id, span.trace_id
    return step


_NAME_KEYS = {"tool_call": ("gen_ai.tool.name", "tool.name"),
              "model_call": ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name"),
              "agent_run": ("gen_ai.agent.name", "agent.name")}
_TOKEN_KEYS = (("input", ("gen_ai.usage.input_tokens", "llm.token_count.prompt")),
               ("output", ("gen_ai.usage.output_tokens", "llm.token_count.completion")))


def _name(kind: str, span: SpanRecord) -> str:
    attributes = span.attributes
    for key in _NAME_KEYS.get(kind, ()):
        if attributes.get(key):
            return str(attributes[key])
    return span.name


def _io(kind: str, attributes: Mapping[str, Any]) -> tuple[Any, Any]:
    """A step's arguments and result: the tool call's, or the span's input and output."""
    if kind == "tool_call" and "gen_ai.tool.call.arguments" in attributes:
        return (_parsed(attributes["gen_ai.tool.call.arguments"]),
                _parsed(attributes.get("gen_ai.tool.call.result")))
    return _parsed(attributes.get("input.value")), _parsed(attributes.get("output.value"))


def _langchain_tool_call(name: str, args: Any, result: Any, parent: SpanRecord | None) -> tuple[Any, Any]:
    """OpenInference's LangChain spans record a tool's input as the text it was
    given (`'42'`) and its output as the ToolMessage: the arguments are in the
    tool node's input (its `tool_call`), the result is the message's content."""
    if not isinstance(args, Mapping) and parent is not None:
        given = _parsed(parent.attributes.get("input.value"))
        call = given.get("tool_call") if isinstance(given, Mapping) else None
        if isinstance(call, Mapping) and call.get("name") == name and isinstance(call.get("args"), Mapping):
            args = dict(call["args"])
    if isinstance(result, Mapping) and result.get("type") == "tool" and isinstance(result.get("data"), Mapping):
        result = result["data"].get("content", result)
    return args, result


def _tokens(attributes: Mapping[str, Any]) -> dict[str, int]:
    found = {}
    for name, keys in _TOKEN_KEYS:
        for key in keys:
            value = attributes.get(key)
            if isinstance(value, int):
                found[name] = value
                break
    return found


def _parsed(value: Any) -> Any:
    """Attribute values are text: JSON ones become the values they spell."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def merged_trajectory(recorder: Recorder) -> list[dict[str, Any]]:
    """The item's captured spans as steps, with its `@trace` steps among them in
    the order both began."""
    found = steps_from_spans(recorder.spans or [])
    if len(recorder.started) == len(recorder.steps):
        found += zip(recorder.started, recorder.steps, strict=True)
        found.sort(key=lambda pair: pair[0])  # stable: a span and a step begun together keep their order
        return [step for _, step in found]
    return [step for _, step in found] + recorder.steps  # pragma: no cover - every top-level step is stamped
