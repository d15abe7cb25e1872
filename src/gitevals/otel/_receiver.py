"""Out-of-process capture: a loopback OTLP/HTTP receiver that lives for a run.

Targets that run elsewhere (http, mastra, a command) get, for each call, a
W3C `traceparent` naming a new trace (an HTTP header; `TRACEPARENT` in a
command's environment, with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing here; an
agent server started on its own exports to `GITEVALS_OTLP_PORT`). The
spans their agent exports to `POST /v1/traces`, in OTLP JSON or protobuf, are
attributed to the item by that trace id. Spans of a trace no item asked for
are dropped and counted; a body that is not OTLP gets a 400 and is counted,
and the run goes on.

Spans may arrive after the answer (an exporter batches them): the item waits
for its first span at most `grace_s`, and then until none has come for a
moment. A target that sent none for its first few items is not waited for
again, so an agent that exports nothing costs the run almost nothing.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio

from gitevals.errors import GitevalsError

from ._spans import SpanRecord

__all__ = ["Receiver"]

_QUIET_S = 0.05
"""How long no new span must arrive before an item's spans count as complete."""
_PATIENCE = 3
"""Items answered without a single span before the receiver stops waiting for any."""


class Receiver:
    """The OTLP/HTTP endpoint of one run, and the spans it received per trace."""

    def __init__(self, grace_s: float = 1.0, port: int | None = None) -> None:
        self.grace_s = grace_s
        self.dropped = 0
        """Spans of a trace no item was waiting for."""
        self.refused = 0
        """Bodies that were not OTLP (answered 400)."""
        self._traces: dict[str, list[SpanRecord]] = {}
        self._last_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._silent_items = 0
        if port is None:  # an agent server started on its own is pointed at a port it can know
            port = int(os.environ.get("GITEVALS_OTLP_PORT") or 0)
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        except OSError as exc:
            raise GitevalsError(f"cannot receive spans on 127.0.0.1:{port}: {exc.strerror or exc}",
                                hint="set GITEVALS_OTLP_PORT to a free port, or leave it unset for any") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="gitevals-otlp", daemon=True)

    @property
    def endpoint(self) -> str:
        """The base URL exporters take as `OTEL_EXPORTER_OTLP_ENDPOINT`."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def notes(self) -> list[str]:
        """What the run's notes say about spans it could not use."""
        found = []
        if self.dropped:
            found.append(f"{self.dropped} spans of traces no item was waiting for were dropped "
                         "(sent after their item's grace period, or with another trace context)")
        if self.refused:
            found.append(f"{self.refused} export requests to the span receiver were not OTLP and were refused")
        return found

    def begin(self) -> tuple[str, str]:
        """A new trace for one target call: (its id, the `traceparent` to send)."""
        trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
        with self._lock:
            self._traces[trace_id] = []
        return trace_id, f"00-{trace_id}-{span_id}-01"

    async def finish(self, trace_id: str) -> list[SpanRecord]:
        """The spans of the trace, once they stopped coming (see the module docstring)."""
        limit = time.monotonic() + (self.grace_s if self._silent_items < _PATIENCE else 0.0)
        while True:
            with self._lock:
                last = self._last_at.get(trace_id)
            now = time.monotonic()
            if now >= limit or (last is not None and now - last >= _QUIET_S):
                break
            await anyio.sleep(0.01)
        with self._lock:
            spans = self._traces.pop(trace_id)
            self._last_at.pop(trace_id, None)
            self._silent_items = 0 if spans else self._silent_items + 1
        return spans

    def receive(self, body: bytes, content_type: str) -> int:
        """Take one export request; returns the HTTP status to answer."""
        try:
            spans = _decode(body, content_type)
        except (ValueError, TypeError, KeyError, AttributeError):
            with self._lock:
                self.refused += 1
            return 400
        now = time.monotonic()
        with self._lock:
            for span in spans:
                found = self._traces.get(span.trace_id)
                if found is None:
                    self.dropped += 1
                    continue
                found.append(span)
                self._last_at[span.trace_id] = now
        return 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = receiver.receive(body, self.headers.get("Content-Type", "")) \
                if self.path.rstrip("/") == "/v1/traces" else 404
            answer = b"{}" if status == 200 else b'{"error": "not an OTLP trace export"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # counted, not printed: the run's output stays its own

    return Handler


def _decode(body: bytes, content_type: str) -> list[SpanRecord]:
    if "protobuf" in content_type:
        return _from_protobuf(body)
    document = json.loads(body)
    found = []
    for resource in document.get("resourceSpans") or []:
        for scope in resource.get("scopeSpans") or []:
            for span in scope.get("spans") or []:
                status = span.get("status") or {}
                found.append(SpanRecord(
                    name=str(span.get("name", "")),
                    trace_id=_hex_id(span["traceId"], 32),
                    span_id=_hex_id(span["spanId"], 16),
                    parent_id=_hex_id(span["parentSpanId"], 16) if span.get("parentSpanId") else None,
                    start_ns=int(span.get("startTimeUnixNano") or 0),
                    end_ns=int(span.get("endTimeUnixNano") or 0),
                    attributes={a["key"]: _json_value(a.get("value") or {}) for a in span.get("attributes") or []},
                    error=(status.get("message") or "error") if status.get("code") in (2, "STATUS_CODE_ERROR") else None,
                ))
    return found


def _hex_id(value: str, digits: int) -> str:
    """OTLP JSON spells ids in hex; some exporters send base64, as protobuf's JSON mapping does."""
    if len(value) == digits and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    import base64

    raw = base64.b64decode(value, validate=True)
    if len(raw) * 2 != digits:
        raise ValueError(f"an id of {len(raw)} bytes")
    return raw.hex()


def _json_value(value: Mapping[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])  # a string in OTLP JSON: int64 does not fit a JSON number
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [_json_value(v) for v in value["arrayValue"].get("values") or []]
    return None


def _from_protobuf(body: bytes) -> list[SpanRecord]:
    try:
        from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    except ImportError:
        raise ValueError("OTLP protobuf needs the opentelemetry-proto package (pip install 'gitevals[otel]')") from None
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise ValueError(str(exc)) from None
    found = []
    for resource in request.resource_spans:
        for scope in resource.scope_spans:
            for span in scope.spans:
                found.append(SpanRecord(
                    name=span.name, trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                    parent_id=span.parent_span_id.hex() or None, start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    attributes={a.key: _proto_value(a.value) for a in span.attributes},
                    error=(span.status.message or "error") if span.status.code == 2 else None,
                ))
    return found


def _proto_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_proto_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind in ("string_value", "int_value", "double_value", "bool_value") else None
