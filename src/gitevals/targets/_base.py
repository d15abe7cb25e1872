"""What a target is: one item's input in, a TargetResult out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["Target", "TargetCall", "TargetError", "TargetResult"]


@dataclass(frozen=True)
class TargetCall:
    """One call of a target: the item's input and the options for this call."""

    input: Any
    options: Mapping[str, Any] = field(default_factory=dict)
    """The eval's target_options with the item's start_options merged over them."""
    item_id: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    request_context: Mapping[str, Any] | None = None
    tool_mocks: Mapping[str, Any] | None = None
    """The item's tool mocks, for a target that carries them (`carries_tool_mocks`)."""
    unmocked_tools: str | None = None
    traceparent: str | None = None
    """The W3C trace context of this call, for a target that sends it on
    (`carries_traceparent`): the spans of that trace become the item's trajectory."""
    otlp_endpoint: str | None = None
    """Where a command's agent exports its spans (`OTEL_EXPORTER_OTLP_ENDPOINT`)."""

    def trace_headers(self) -> dict[str, str]:
        """The HTTP header that carries `traceparent`, when there is one."""
        return {"traceparent": self.traceparent} if self.traceparent else {}


@dataclass(frozen=True)
class TargetResult:
    """What a target produced. Python targets may return one to report more than the output."""

    output: Any
    trajectory: list[dict[str, Any]] | None = None
    usage: dict[str, float] | None = None
    metadata: dict[str, Any] | None = None
    fallback_trajectory: list[dict[str, Any]] | None = None
    """Steps read from a framework's own result (its message history), the
    trajectory when nothing else recorded one (no spans, no `@trace` steps)."""


class TargetError(Exception):
    """A target call failed in a way worth recording with details (exit status, stderr)."""

    def __init__(self, message: str, *, kind: str = "target_error", stderr: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.stderr = stderr


@runtime_checkable
class Target(Protocol):
    """What the runner calls. `name` identifies it in records.

    A target may set `carries_tool_mocks = True` when an item's `tool_mocks`
    reach the code that calls the tools: a Python target's `@trace.tool`
    functions return them in-process, an http target sends them when its body
    says `{{tool_mocks}}`. The runner refuses items with mocks for any other
    target, which would run them unmocked without a word.

    A target that calls out of the process (http, openai, mastra, command) sets
    `remote = True`: its errors are then located at the target (`where` names
    it, with its URL or command), not at the frames of gitevals' own client.
    One that sends a call's `traceparent` on to the agent (an HTTP header, a
    command's environment) sets `carries_traceparent = True`, and `trace: otel`
    captures the spans the agent exports.
    """

    name: str

    async def __call__(self, call: TargetCall) -> TargetResult: ...
