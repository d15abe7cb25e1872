"""In-process capture: the OpenTelemetry spans an item's target creates, for
that item alone.

A span processor on the global tracer provider looks, when a span starts, for
the item whose target runs in that context (`trace.current_recorder`: a
context variable, so it follows the target into its tasks and the worker
threads it is given) and hands the span to it when it ends. Concurrent items
never mix; spans made outside any item (the user's own, at start-up) pass by.

A provider the user configured keeps its exporters: the processor is added to
it. With none, gitevals sets an SDK provider of its own. Imported only by an
eval that captures spans, so no other run pays for OpenTelemetry.
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry import trace as otel_trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.trace import StatusCode

from gitevals.trace import Recorder, current_recorder

from ._spans import SpanRecord

__all__ = ["install"]

_installed: list[_ItemSpans] = []
_guard = threading.Lock()


class _ItemSpans(SpanProcessor):
    """Hands each ended span to the item it was started for."""

    def __init__(self) -> None:
        self._owners: dict[int, Recorder] = {}

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        recorder = current_recorder()
        if recorder is not None and recorder.spans is not None:
            self._owners[span.get_span_context().span_id] = recorder

    def on_end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        recorder = self._owners.pop(context.span_id, None) if context is not None else None
        if recorder is not None and recorder.spans is not None:
            recorder.spans.append(_record(span))

    def shutdown(self) -> None:
        self._owners.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def install() -> None:
    """Capture spans from now on (once per process)."""
    with _guard:
        if _installed:
            return
        processor = _ItemSpans()
        provider: Any = otel_trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):  # the API's no-op default: nobody configured tracing
            provider = TracerProvider()
            otel_trace.set_tracer_provider(provider)
            provider = otel_trace.get_tracer_provider()  # the one that won, had another thread set one first
        provider.add_span_processor(processor)
        _installed.append(processor)


def _record(span: ReadableSpan) -> SpanRecord:
    context = span.get_span_context()
    assert context is not None  # an SDK span always has one
    error = None
    if span.status.status_code is StatusCode.ERROR:
        error = span.status.description or next(
            (str(e.attributes.get("exception.message")) for e in span.events if e.name == "exception" and e.attributes),
            "error")
    return SpanRecord(
        name=span.name,
        trace_id=f"{context.trace_id:032x}",
        span_id=f"{context.span_id:016x}",
        parent_id=f"{span.parent.span_id:016x}" if span.parent is not None else None,
        start_ns=span.start_time or 0,
        end_ns=span.end_time or span.start_time or 0,
        attributes=dict(span.attributes or {}),
        error=error,
    )
