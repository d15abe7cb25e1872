"""Spans from agents that run elsewhere: a command in another language and an
HTTP agent export OTLP (JSON, protobuf) to the run's receiver, with the trace
context gitevals gave each call; bad bodies and strangers' spans are counted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import ProjectDir

EXE = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"

NODE_AGENT = r"""
// An agent in another language, with nothing but Node's standard library:
// it reads the item on stdin, "calls a tool", and exports its spans as OTLP JSON.
const crypto = require("crypto");
let text = "";
process.stdin.on("data", (chunk) => (text += chunk));
process.stdin.on("end", async () => {
  const item = JSON.parse(text);
  const [, traceId, parentId] = process.env.TRACEPARENT.split("-");
  const now = BigInt(Date.now()) * 1000000n;
  const agentId = crypto.randomBytes(8).toString("hex");
  const attr = (key, value) => ({ key, value: typeof value === "number" ? { intValue: String(value) } : { stringValue: value } });
  const spans = [
    { traceId, spanId: agentId, parentSpanId: parentId, name: "invoke_agent shop", startTimeUnixNano: String(now),
      endTimeUnixNano: String(now + 5000000n), attributes: [attr("gen_ai.operation.name", "invoke_agent"), attr("gen_ai.agent.name", "shop")] },
    { traceId, spanId: crypto.randomBytes(8).toString("hex"), parentSpanId: agentId, name: "execute_tool",
      startTimeUnixNano: String(now + 1000000n), endTimeUnixNano: String(now + 2000000n),
      attributes: [attr("gen_ai.operation.name", "execute_tool"), attr("gen_ai.tool.name", "lookup_order"),
                   attr("gen_ai.tool.call.arguments", JSON.stringify({ order_id: item.input })), attr("gen_ai.tool.call.result", "shipped")] },
    { traceId, spanId: crypto.randomBytes(8).toString("hex"), parentSpanId: agentId, name: "chat",
      startTimeUnixNano: String(now + 2000000n), endTimeUnixNano: String(now + 4000000n),
      attributes: [attr("gen_ai.operation.name", "chat"), attr("gen_ai.request.model", "m"),
                   attr("gen_ai.usage.input_tokens", 10), attr("gen_ai.usage.output_tokens", 4)] },
  ];
  const body = { resourceSpans: [{ scopeSpans: [{ spans }] }] };
  const answer = await fetch(process.env.OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces",
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!answer.ok) process.exit(9);
  await fetch(process.env.OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces",  // a malformed export: refused, counted
    { method: "POST", headers: { "Content-Type": "application/json" }, body: "{not otlp" });
  process.stdout.write(JSON.stringify(`order ${item.input} shipped`));
});
"""


def make(project: ProjectDir, target: str, items: int) -> None:
    project.write("datasets/d.yaml", "items:\n" + "".join(
        f"  - id: o{n}\n    input: '{n}'\n    expected: shipped\n"
        f"    expected_trajectory: {{steps: [{{name: lookup_order, args: {{order_id: '{n}'}}}}]}}\n"
        for n in range(items)))
    project.write("evals/e.yaml", f"dataset: d\ntarget: {target}\ntrace: otel\nconcurrency: 4\n"
                  "scorers:\n  agent: [contains]\n  trajectory: [trajectory_accuracy]\n")


def records(project: ProjectDir) -> tuple[dict, dict[str, dict]]:
    [folder] = (project.root / "runs/e").iterdir()
    found = {r["item_id"]: r for r in map(json.loads, (folder / "results.jsonl").read_text().splitlines())}
    return json.loads((folder / "run.json").read_text()), found


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node")
def test_a_command_in_another_language_gets_its_exported_tool_calls_scored(project: ProjectDir) -> None:
    project.write("agent.js", NODE_AGENT)
    make(project, "{type: command, command: ['node', 'agent.js']}", items=8)
    done = subprocess.run([EXE, "run", "e"], cwd=project.root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest, found = records(project)
    for n in range(8):
        record = found[f"o{n}"]
        [agent] = record["trajectory"]
        assert agent["type"] == "agent_run" and [c["name"] for c in agent["children"]] == ["lookup_order", "m"]
        assert agent["children"][0]["args"] == {"order_id": str(n)}  # its own call, not another item's
        assert record["scores"]["trajectory.trajectory_accuracy"]["value"] == 1.0
        assert record["usage"] == {"input_tokens": 10.0, "output_tokens": 4.0}
    assert manifest["notes"] == ["8 export requests to the span receiver were not OTLP and were refused"]


class _ProtobufAgent(BaseHTTPRequestHandler):
    """An agent server that answers, then exports its spans as OTLP protobuf
    after the answer (as a batching exporter does), plus one span of a trace
    gitevals never started."""

    def do_POST(self) -> None:  # noqa: N802
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _, trace_id, parent_id, _ = self.headers["traceparent"].split("-")
        endpoint = self.server.otlp_endpoint  # type: ignore[attr-defined]
        answer = json.dumps({"answer": f"order {body['q']} shipped"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        request = ExportTraceServiceRequest()
        for trace, parent in ((trace_id, parent_id), ("f" * 32, "e" * 16)):
            span = request.resource_spans.add().scope_spans.add().spans.add()
            span.trace_id, span.span_id, span.parent_span_id = bytes.fromhex(trace), b"\x01" * 8, bytes.fromhex(parent)
            span.name, span.start_time_unix_nano, span.end_time_unix_nano = "tool", 1, 2
            for key, value in (("gen_ai.operation.name", "execute_tool"), ("gen_ai.tool.name", "lookup_order"),
                               ("gen_ai.tool.call.arguments", json.dumps({"order_id": body["q"]}))):
                attribute = span.attributes.add()
                attribute.key, attribute.value.string_value = key, value
        threading.Timer(0.1, lambda: httpx.post(endpoint + "/v1/traces", content=request.SerializeToString(),
                                                headers={"Content-Type": "application/x-protobuf"})).start()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_http_agent_that_exports_protobuf_after_answering_still_gets_its_spans(project: ProjectDir) -> None:
    import os
    import socket

    with socket.socket() as probe:  # the port the agent is told to export to, as its own configuration would
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ProtobufAgent)
    server.otlp_endpoint = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        make(project, f"{{type: http, url: 'http://127.0.0.1:{server.server_address[1]}/', body: {{q: '{{{{input}}}}'}}, "
                      "output: answer}", items=5)
        done = subprocess.run([EXE, "run", "e"], cwd=project.root, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "GITEVALS_OTLP_PORT": str(port)})
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        server.shutdown()
        server.server_close()
    manifest, found = records(project)
    assert all(found[f"o{n}"]["trajectory"][0]["args"] == {"order_id": str(n)} for n in range(5))
    assert manifest["notes"] == ["5 spans of traces no item was waiting for were dropped (sent after their item's "
                                 "grace period, or with another trace context)"]
