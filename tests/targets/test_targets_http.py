"""The http, openai and mastra targets against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import gc
import uuid
import warnings
from typing import Any

import pytest
from click.testing import CliRunner

from gitevals import ConfigError, run_evals
from gitevals.cli import cli
from gitevals.runs import list_runs, read_results
from gitevals.targets import HttpTarget, MastraTarget, OpenAITarget, resolve_target
from tests.conftest import ProjectDir
from tests.http_fakes import FakeServer, Request

SECRET = "s3cret-token-never-stored"

# --- a plain JSON endpoint ------------------------------------------------------------


class JsonEndpoint:
    """`/answer` wants the X-Api-Key header; `/busy` answers 503 twice, then 200."""

    def __init__(self) -> None:
        self.busy_calls = 0

    def __call__(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        if request.path == "/answer":
            if request.headers.get("x-api-key") != SECRET:
                return 401, {"error": "bad key"}, {}
            body = request.body
            return 200, {"data": {"answer": f"{body['style']}: {body['question'].upper()}", "tags": body["tags"]}}, {}
        if request.path == "/echo":
            return 200, {"received": request.body}, {}
        if request.path == "/search":
            return 200, {"hits": [request.query.get("q"), request.query.get("n")]}, {}
        if request.path == "/text":
            return 200, b"<html>maintenance</html>", {"Content-Type": "text/html"}
        if request.path == "/busy":
            self.busy_calls += 1
            busy = self.busy_calls <= 2
            return (503, {"error": "overloaded"}, {"Retry-After": "0.3"}) if busy else (200, {"ok": True}, {})
        return 404, {"error": "no such route"}, {}


@pytest.fixture
def endpoint(serve) -> FakeServer:  # type: ignore[no-untyped-def]
    return serve(JsonEndpoint())


def test_http_body_template_output_path_and_env_header(endpoint: FakeServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GE_HTTP_KEY", SECRET)
    spec = {
        "type": "http",
        "url": endpoint.url + "/answer",
        "headers": {"X-Api-Key": "${GE_HTTP_KEY}"},
        "body": {"question": "{{input}}", "style": "{{options.style}}", "tags": "{{context.tags}}", "id": "{{id}}",
                 "note": "asked: {{input}}"},
        "output": "$.data.answer",
    }
    data = [{"id": "q1", "input": "refund window?", "context": {"tags": ["billing"]}}]
    [item] = run_evals(spec, data, target_options={"style": "brief"}).items
    assert item.error is None
    assert item.output == "brief: REFUND WINDOW?"
    [request] = endpoint.requests
    assert request.method == "POST" and request.headers["x-api-key"] == SECRET
    assert request.body == {"question": "refund window?", "style": "brief", "tags": ["billing"], "id": "q1",
                            "note": "asked: refund window?"}


def test_http_default_body_whole_answer_and_get_params(endpoint: FakeServer) -> None:
    target = HttpTarget(endpoint.url + "/echo")
    [item] = run_evals(target, [{"input": {"question": "q", "n": [1, 2]}}], target_options={"mode": "x"}).items
    assert item.output == {"received": {"input": {"question": "q", "n": [1, 2]}, "options": {"mode": "x"}}}
    search = resolve_target({"type": "http", "method": "GET", "url": endpoint.url + "/search",
                             "params": {"q": "{{input}}", "n": "{{options.n}}"}})
    [found] = run_evals(search, [{"input": "shoes"}], target_options={"n": 3}).items
    assert found.output == {"hits": ["shoes", "3"]}
    assert endpoint.requests[-1].method == "GET" and endpoint.requests[-1].raw == b""


def test_http_answers_that_are_not_json_or_lack_the_path_are_bad_output(endpoint: FakeServer) -> None:
    text = run_evals({"type": "http", "url": endpoint.url + "/text"}, [{"input": "x"}]).items[0]
    assert text.error["type"] == "bad_output" and "is not JSON: <html>maintenance</html>" in text.error["message"]
    missing = run_evals({"type": "http", "url": endpoint.url + "/search", "output": "hits[5].title"},
                        [{"input": "x"}]).items[0]
    assert missing.error["type"] == "bad_output"
    assert "no $.hits[5].title: $.hits has 2 item(s), so no [5]" in missing.error["message"]


def test_http_503_is_retried_after_retry_after_and_404_is_not(endpoint: FakeServer) -> None:
    [item] = run_evals({"type": "http", "url": endpoint.url + "/busy"}, [{"input": "x"}], retries=3).items
    assert item.error is None and item.output == {"ok": True} and item.attempts == 3
    times = [r.at for r in endpoint.requests]
    assert times[1] - times[0] >= 0.29 and times[2] - times[1] >= 0.29  # waited as Retry-After asked
    [lost] = run_evals({"type": "http", "url": endpoint.url + "/nowhere"}, [{"input": "x"}], retries=3).items
    assert lost.attempts == 1 and lost.error["type"] == "HTTPStatusError"
    assert lost.error["message"] == f'HTTP 404 Not Found from POST {endpoint.url}/nowhere: {{"error": "no such route"}}'
    # located at the target, not in gitevals' own HTTP client
    assert lost.error["where"] == f"target POST {endpoint.url}/nowhere" and "traceback" not in lost.error


def test_one_client_per_run_reused_and_closed_with_its_loop(endpoint: FakeServer) -> None:
    target = HttpTarget(endpoint.url + "/search", method="GET", params={"q": "{{input}}"}, output="hits[0]")
    items = [{"input": f"q{n}"} for n in range(4)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = run_evals(target, items, concurrency=1)
        second = run_evals(target, items, concurrency=1)  # a new event loop: a new client, not a dead one
        gc.collect()
    assert [i.output for i in first.items + second.items] == [f"q{n}" for n in range(4)] * 2
    ports = [r.client_port for r in endpoint.requests]
    assert len(set(ports[:4])) == 1 and len(set(ports[4:])) == 1  # one kept-alive connection per run
    assert ports[0] != ports[4]
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [str(w.message) for w in caught]


def test_bad_http_and_mastra_configs_are_config_errors(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("GE_MISSING", raising=False)
    with pytest.raises(ConfigError, match=r"cannot read the JSON path 'data\.\.answer'"):
        resolve_target({"type": "http", "url": "http://x", "output": "data..answer"})
    with pytest.raises(ConfigError, match="environment variable GE_MISSING is not set"):
        resolve_target({"type": "http", "url": "http://x", "headers": {"Authorization": "Bearer ${GE_MISSING}"}})
    for both in ({"agent": "a", "workflow": "w"}, {}):
        with pytest.raises(ConfigError, match="exactly one of `agent: <id>` or `workflow: <id>`"):
            resolve_target({"type": "mastra", "base_url": "http://x", **both})
    with pytest.raises(ConfigError, match="GE_MISSING, which is not set"):
        resolve_target({"type": "openai", "model": "m", "api_key_env": "GE_MISSING"})
    assert isinstance(resolve_target({"type": "openai", "model": "m", "api_key_env": None}), OpenAITarget)


# --- an OpenAI-compatible chat completions server -----------------------------------


def openai_server(request: Request) -> tuple[int, Any, dict[str, str]]:
    if request.path != "/v1/chat/completions":
        return 404, {"error": {"message": "unknown route"}}, {}
    if request.headers.get("authorization") != f"Bearer {SECRET}":
        return 401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}, {}
    body = request.body
    last = body["messages"][-1]["content"]
    prompt_tokens = sum(len(str(m["content"]).split()) for m in body["messages"])
    if "weather" in last:
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": '{"tz": "CET"}'}},
        ]}
        finish, completion = "tool_calls", 9
    else:
        message = {"role": "assistant", "content": f"echo[{body.get('temperature')}]: {last}"}
        finish, completion = "stop", 3
    return 200, {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body["model"] + "-2026",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion},
    }, {}


def test_openai_target_text_messages_tool_calls_and_usage(serve, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    server = serve(openai_server)
    monkeypatch.setenv("GE_OPENAI_KEY", SECRET)
    spec = {"type": "openai", "base_url": server.url + "/v1/", "model": "tiny", "api_key_env": "GE_OPENAI_KEY",
            "system": "Be brief.", "temperature": 0.2, "max_tokens": 50, "params": {"seed": 7}}
    data = [
        {"id": "text", "input": "hello there"},
        {"id": "messages", "input": [{"role": "system", "content": "Own system."}, {"role": "user", "content": "hi"}]},
        {"id": "tools", "input": "what is the weather in Paris?"},
    ]
    result = run_evals(spec, data, target_options={"temperature": 0.0})
    by_id = {i.item.id: i for i in result.items}
    text = by_id["text"]
    assert text.error is None and text.output == "echo[0.0]: hello there"  # options win over the config
    assert text.usage == {"input_tokens": 4.0, "output_tokens": 3.0, "total_tokens": 7.0}
    assert text.trajectory[0]["type"] == "model_call" and text.trajectory[0]["name"] == "tiny-2026"
    assert text.trajectory[0]["tokens"] == {"input": 4, "output": 3, "total": 7} and len(text.trajectory) == 1
    assert text.metadata == {"finish_reason": "stop", "model": "tiny-2026"}
    sent = {r.body["messages"][-1]["content"]: r.body for r in server.requests}
    assert sent["hello there"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["hello there"]["max_tokens"] == 50 and sent["hello there"]["seed"] == 7
    assert [m["content"] for m in sent["hi"]["messages"]] == ["Own system.", "hi"]  # no second system prompt
    tools = by_id["tools"]
    assert tools.output is None and tools.error is None
    assert tools.trajectory[1:] == [
        {"type": "tool_call", "name": "get_weather", "args": {"city": "Paris"}, "result": None},
        {"type": "tool_call", "name": "get_time", "args": {"tz": "CET"}, "result": None},
    ]
    assert result.summary.usage["total_tokens"] == 7 + 6 + 17


def test_openai_wrong_key_is_an_unretried_http_error(serve, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    server = serve(openai_server)
    monkeypatch.setenv("GE_OPENAI_KEY", "wrong")
    spec = {"type": "openai", "base_url": server.url + "/v1", "model": "tiny", "api_key_env": "GE_OPENAI_KEY"}
    [item] = run_evals(spec, [{"input": "hi"}], retries=2).items
    assert item.attempts == 1 and item.error["type"] == "HTTPStatusError"
    assert "HTTP 401" in item.error["message"] and "Incorrect API key provided" in item.error["message"]
    assert server.requests[0].headers["authorization"] == "Bearer wrong"
    keyless = run_evals({**spec, "api_key_env": None}, [{"input": "hi"}]).items[0]
    assert "authorization" not in server.requests[-1].headers and "HTTP 401" in keyless.error["message"]


# --- a Mastra server, with the answer shapes of @mastra/server 1.x (see MASTRA_API.md) -----


def _usage(inp: int, out: int) -> dict[str, int]:
    return {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out}


def _chunk(kind: str, run_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "runId": run_id, "from": "AGENT", "payload": payload}


class FakeMastra:
    """Agent `support` (calls lookupOrder when the message names an order) and
    workflow `returns` (validate -> lookup -> refund; refund fails over 100).

    As with a real server, `start-async` steps carry no `payload` (their input);
    the stored run (`GET .../runs/<runId>`) does, unless `keep_runs` is off.
    """

    AGENTS = {"support": {"id": "support", "name": "Support", "tools": {"lookupOrder": {}}}}
    WORKFLOWS = {"returns": {"steps": {"validate": {}, "lookup": {}, "refund": {}}}}

    def __init__(self, keep_runs: bool = True) -> None:
        self.runs: dict[str, Any] = {}
        self.keep_runs = keep_runs

    def __call__(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        parts = request.path.strip("/").split("/")
        if parts == ["api", "agents"]:
            return 200, self.AGENTS, {}
        if parts == ["api", "workflows"]:
            return 200, self.WORKFLOWS, {}
        if parts[:2] == ["api", "agents"] and parts[3:] == ["generate"]:
            if parts[2] not in self.AGENTS:
                return 404, {"error": f"Agent with id {parts[2]} not found"}, {}
            return 200, self.generate(request.body), {}
        if parts[:2] == ["api", "workflows"] and len(parts) > 3:
            if parts[2] not in self.WORKFLOWS:
                return 404, {"error": "Workflow not found"}, {}
            if parts[3] == "create-run":
                run_id = str(uuid.uuid4())
                self.runs[run_id] = None
                return 200, {"runId": run_id}, {}
            if parts[3] == "start-async":
                return self.start(request.query.get("runId"), request.body)
            if parts[3] == "runs" and self.keep_runs and self.runs.get(parts[4]):
                return 200, self.runs[parts[4]], {}
        return 404, {"error": "Not Found"}, {}

    def generate(self, body: dict[str, Any]) -> dict[str, Any]:
        run_id = str(uuid.uuid4())
        text = body["messages"][-1]["content"]
        order = next((w.strip("?.") for w in text.split() if w.startswith("A1")), None)
        if order is None:
            step = {"stepType": "initial", "finishReason": "stop", "text": "How can I help?", "toolCalls": [],
                    "toolResults": [], "usage": _usage(10, 4), "content": [{"type": "text", "text": "How can I help?"}]}
            return {"text": "How can I help?", "finishReason": "stop", "toolCalls": [], "toolResults": [],
                    "steps": [step], "usage": {**_usage(10, 4), "raw": _usage(10, 4)}, "totalUsage": _usage(10, 4)}
        call = {"toolCallId": "call-1", "toolName": "lookupOrder", "args": {"orderId": order}}
        result = {**call, "result": {"status": "shipped"}}
        answer = f"Order {order} has shipped (tier {body.get('requestContext', {}).get('user_tier')})."
        steps = [
            {"stepType": "initial", "finishReason": "tool-calls", "text": "", "usage": _usage(20, 5),
             "toolCalls": [_chunk("tool-call", run_id, call)], "toolResults": [_chunk("tool-result", run_id, result)],
             "content": [{"type": "tool-call", "toolCallId": "call-1", "toolName": "lookupOrder", "input": call["args"]},
                         {"type": "tool-result", "toolCallId": "call-1", "toolName": "lookupOrder", "input": call["args"],
                          "output": {"type": "json", "value": {"status": "shipped"}}}]},
            {"stepType": "tool-result", "finishReason": "stop", "text": answer, "toolCalls": [], "toolResults": [],
             "usage": _usage(30, 7), "content": [{"type": "text", "text": answer}]},
        ]
        return {"text": answer, "finishReason": "stop", "toolCalls": [_chunk("tool-call", run_id, call)],
                "toolResults": [_chunk("tool-result", run_id, result)], "steps": steps,
                "usage": {**_usage(50, 12), "raw": _usage(30, 7)}, "totalUsage": _usage(50, 12)}

    def start(self, run_id: str | None, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if run_id not in self.runs:
            return 404, {"error": "Run not found"}, {}
        data = body.get("inputData")
        if not isinstance(data, dict) or "orderId" not in data:
            return 400, {"error": "Invalid input data: \n- orderId: Invalid input: expected string, received undefined"}, {}
        t = 1_795_394_954_918
        checked = {"orderId": data["orderId"], "valid": True}
        amount = data.get("amount", 40)
        ran = {
            "validate": ({"status": "success", "output": checked, "startedAt": t, "endedAt": t + 4}, data),
            "lookup": ({"status": "success", "output": {"amount": amount}, "startedAt": t + 4, "endedAt": t + 10},
                       checked),
        }
        answer: dict[str, Any] = {"input": data, "stepExecutionPath": ["validate", "lookup", "refund"], "runId": run_id}
        if amount > 100:
            error = {"message": "refund limit exceeded", "name": "Error"}
            ran["refund"] = ({"status": "failed", "error": error, "startedAt": t + 10, "endedAt": t + 11},
                             {"amount": amount})
            answer.update(status="failed", error=error)
        else:
            ran["refund"] = ({"status": "success", "output": {"refunded": 40}, "startedAt": t + 10,
                              "endedAt": t + 12.5}, {"amount": amount})
            answer.update(status="success", result={"refunded": 40})
        answer["steps"] = {"input": data, **{name: state for name, (state, _) in ran.items()}}
        self.runs[run_id] = {"runId": run_id, "workflowName": "returns", "status": answer["status"], "payload": data,
                             "steps": {name: {"payload": given, **state} for name, (state, given) in ran.items()}}
        return 200, answer, {}


def test_mastra_agent_output_tool_calls_usage_and_request_context(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(FakeMastra())
    spec = {"type": "mastra", "base_url": server.url + "/api", "agent": "support"}
    data = [{"id": "order", "input": "Where is A17?", "request_context": {"user_tier": "pro"}, "start_options": {"max_steps": 3}},
            {"id": "chat", "input": [{"role": "user", "content": "hello"}]}]
    by_id = {i.item.id: i for i in run_evals(spec, data).items}
    order = by_id["order"]
    assert order.error is None and order.output == "Order A17 has shipped (tier pro)."
    assert order.trajectory == [
        {"type": "tool_call", "name": "lookupOrder", "args": {"orderId": "A17"}, "result": {"status": "shipped"}}
    ]
    assert order.usage == {"input_tokens": 50.0, "output_tokens": 12.0, "total_tokens": 62.0}  # totalUsage, all steps
    assert order.metadata == {"finish_reason": "stop"}
    sent = next(r.body for r in server.requests if r.body["messages"][-1]["content"] == "Where is A17?")
    assert sent == {"messages": [{"role": "user", "content": "Where is A17?"}], "maxSteps": 3,
                    "requestContext": {"user_tier": "pro"}}
    chat = by_id["chat"]
    assert chat.output == "How can I help?" and chat.trajectory == [] and chat.usage["total_tokens"] == 14


def test_mastra_calls_carry_a_trace_context_of_their_own_when_spans_are_captured(serve) -> None:  # type: ignore[no-untyped-def]
    import re

    server = serve(FakeMastra())
    spec = {"type": "mastra", "base_url": server.url + "/api", "agent": "support"}
    data = [{"id": f"q{n}", "input": "Where is A17?"} for n in range(3)]
    result = run_evals(spec, data, trace="otel")
    assert all(item.error is None and item.trajectory for item in result.items)  # Mastra's own steps, no spans came
    sent = [r.headers.get("traceparent") for r in server.requests if r.method == "POST"]
    assert len(sent) == 3 and all(re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", t or "") for t in sent), sent
    assert len({t.split("-")[1] for t in sent}) == 3  # a trace per call


def test_mastra_tool_calls_without_results_still_make_steps() -> None:
    from gitevals.targets._mastra import _agent_result

    answer = {"text": "", "toolCalls": [_chunk("tool-call", "r", {"toolCallId": "c", "toolName": "t", "args": {"a": 1}})],
              "toolResults": []}
    assert _agent_result(answer).trajectory == [{"type": "tool_call", "name": "t", "args": {"a": 1}, "result": None}]


def test_mastra_workflow_steps_failures_bad_input_and_unknown_ids(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(FakeMastra())
    spec = {"type": "mastra", "base_url": server.url, "workflow": "returns"}
    data = [{"id": "ok", "input": {"orderId": "A1"}}, {"id": "big", "input": {"orderId": "A2", "amount": 500}},
            {"id": "bad", "input": {"order": "A3"}}]
    by_id = {i.item.id: i for i in run_evals(spec, data, retries=2).items}
    ok = by_id["ok"]
    assert ok.error is None and ok.output == {"refunded": 40}
    assert [s["name"] for s in ok.trajectory] == ["validate", "lookup", "refund"]  # no `input` pseudo-step
    assert ok.trajectory[1] == {"type": "workflow_step", "name": "lookup", "args": {"orderId": "A1", "valid": True},
                                "result": {"amount": 40}, "duration_ms": 6.0}  # args from the stored run
    assert ok.trajectory[2]["duration_ms"] == 2.5 and ok.metadata["status"] == "success"
    big = by_id["big"]
    assert big.attempts == 1 and big.error == {
        "type": "workflow_failed",
        "message": "workflow 'returns' failed at step 'refund': refund limit exceeded (steps run: validate, lookup, refund)",
    }
    assert [s["name"] for s in big.trajectory] == ["validate", "lookup", "refund"]  # kept with the error
    assert big.trajectory[2] == {"type": "workflow_step", "name": "refund", "args": {"amount": 500},
                                 "error": "refund limit exceeded", "duration_ms": 1.0}
    bad = by_id["bad"]
    assert bad.attempts == 1 and bad.error["type"] == "bad_request"
    assert bad.error["message"] == (
        "mastra workflow returns: Invalid input data: \n- orderId: Invalid input: expected string, received undefined"
    )
    starts = [r for r in server.requests if r.path.endswith("/start-async")]
    assert len([r for r in server.requests if r.path.endswith("/create-run")]) == 3
    assert {r.query["runId"] for r in starts} <= set(server.handler.runs)
    assert next(r.body for r in starts if r.body["inputData"]["orderId"] == "A1") == {"inputData": {"orderId": "A1"}}
    [unknown] = run_evals({**spec, "workflow": "retruns"}, [{"input": {"orderId": "A1"}}]).items
    assert unknown.error["type"] == "not_found"
    assert unknown.error["message"] == (
        f"the Mastra server at {server.url} has no workflow 'retruns' (Workflow not found); did you mean 'returns'?"
    )
    [agent] = run_evals(MastraTarget(server.url, agent="nobody"), [{"input": "hi"}]).items
    assert agent.error["type"] == "not_found" and "has no agent 'nobody'" in agent.error["message"]
    assert "valid choices: support" in agent.error["message"]


def test_mastra_workflow_steps_without_a_stored_run_have_no_args(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(FakeMastra(keep_runs=False))
    [item] = run_evals({"type": "mastra", "base_url": server.url, "workflow": "returns"},
                       [{"input": {"orderId": "A1"}}]).items
    assert item.error is None and item.output == {"refunded": 40}
    assert item.trajectory[0] == {"type": "workflow_step", "name": "validate", "result": {"orderId": "A1", "valid": True},
                                  "duration_ms": 4.0}


# --- all of them from a project, through `gitevals run` -------------------------------


def test_gitevals_run_with_every_kind_keeps_secrets_out_of_the_run(  # type: ignore[no-untyped-def]
    project: ProjectDir, serve, monkeypatch
) -> None:
    monkeypatch.setenv("GE_HTTP_KEY", SECRET)
    monkeypatch.setenv("GE_OPENAI_KEY", SECRET)
    endpoint, openai, mastra = serve(JsonEndpoint()), serve(openai_server), serve(FakeMastra())
    project.write("gitevals.yaml", f"""
        targets:
          support-agent: {{type: mastra, base_url: "{mastra.url}", agent: support,
                           headers: {{Authorization: "Bearer ${{GE_HTTP_KEY}}"}}}}
        """)
    project.write("datasets/questions.yaml", """
        items:
          - {id: q1, input: "refund window?", expected: "brief: REFUND WINDOW?", context: {tags: [billing]}}
          - {id: q2, input: "what is the weather?"}
        """)
    project.write("datasets/orders.yaml", """
        items:
          - {id: small, input: {orderId: A1}, expected: {refunded: 40}}
          - {id: large, input: {orderId: A2, amount: 500}}
        """)
    project.write("datasets/chats.yaml", """
        items:
          - {id: order, input: "Where is A19?", request_context: {user_tier: free}}
        """)
    project.write("evals/http.yaml", f"""
        dataset: questions
        target:
          type: http
          url: {endpoint.url}/answer
          headers: {{X-Api-Key: "${{GE_HTTP_KEY}}"}}
          body: {{question: "{{{{input}}}}", style: brief, tags: "{{{{context.tags}}}}"}}
          output: $.data.answer
        scorers: [exact_match]
        """)
    project.write("evals/openai.yaml", f"""
        dataset: questions
        target: {{type: openai, base_url: "{openai.url}/v1", model: tiny, api_key_env: GE_OPENAI_KEY}}
        target_options: {{temperature: 0}}
        scorers: [{{type: contains, value: echo}}]
        """)
    project.write("evals/workflow.yaml", f"""
        dataset: orders
        target: {{type: mastra, base_url: "{mastra.url}", workflow: returns}}
        scorers: [exact_match]
        """)
    project.write("evals/agent.yaml", """
        dataset: chats
        target: support-agent
        target_options: {max_steps: 2}
        """)
    project.git_init()
    project.commit()
    runner = CliRunner()
    outcomes = {}
    for name in ("http", "openai", "workflow", "agent"):
        outcome = runner.invoke(cli, ["-C", str(project.root), "run", name], catch_exceptions=False)
        assert outcome.exit_code in (0, 1), outcome.output
        [run] = list_runs(project.root / "runs", name)
        outcomes[name] = (outcome, run, {r["item_id"]: r for r in read_results(run.path)})
        stored = (run.path / "run.json").read_text() + (run.path / "results.jsonl").read_text()
        assert SECRET not in stored, name
    outcome, run, records = outcomes["http"]
    assert outcome.exit_code == 0, outcome.output
    assert records["q2"]["scores"]["exact_match"]["skipped"] is True  # no expected
    assert records["q1"]["output"] == "brief: REFUND WINDOW?" and records["q1"]["scores"]["exact_match"]["value"] == 1.0
    assert run.manifest.config["target"]["headers"] == {"X-Api-Key": "${GE_HTTP_KEY}"}
    _, run, records = outcomes["openai"]
    assert records["q1"]["usage"]["total_tokens"] == 5
    assert [s["name"] for s in records["q2"]["trajectory"]] == ["tiny-2026", "get_weather", "get_time"]
    assert run.manifest.summary.completed == 2
    outcome, run, records = outcomes["workflow"]
    assert records["small"]["scores"]["exact_match"]["value"] == 1.0
    assert records["large"]["error"]["type"] == "workflow_failed" and records["large"]["output"] is None
    assert records["large"]["trajectory"][-1]["error"] == "refund limit exceeded"
    assert [s["name"] for s in records["small"]["trajectory"]] == ["validate", "lookup", "refund"]
    _, run, records = outcomes["agent"]
    assert records["order"]["output"] == "Order A19 has shipped (tier free)."
    assert records["order"]["trajectory"][0]["args"] == {"orderId": "A19"}
    sent = [r for r in mastra.requests if r.path.endswith("/generate")][-1]
    assert sent.headers["authorization"] == f"Bearer {SECRET}" and sent.body["maxSteps"] == 2


def test_a_bad_target_in_an_eval_file_is_reported_where_it_is(project: ProjectDir) -> None:
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: x}\n")
    project.write("evals/e.yaml", "dataset: d\ntarget: {type: mastra, base_url: 'http://x', agent: a, workflow: w}\n")
    outcome = CliRunner().invoke(cli, ["-C", str(project.root), "run", "e"], catch_exceptions=False)
    assert outcome.exit_code == 2
    assert "e.yaml:2:1: target: a mastra target takes exactly one of `agent: <id>` or `workflow: <id>`" in (
        outcome.output
    )
    assert not list((project.root / "runs").glob("*/*/run.json"))


# --- tool mocks: carried, or refused ------------------------------------------------


MOCKED = [
    {"id": "m1", "input": "where is order 7?", "tool_mocks": {"lookup_order": {"status": "shipped"}}},
    {"id": "plain", "input": "hello"},
    {"id": "m2", "input": "and order 8?", "unmocked_tools": "deny"},
]


def test_a_target_that_cannot_apply_tool_mocks_is_refused_before_any_call(endpoint: FakeServer) -> None:
    with pytest.raises(ConfigError) as caught:
        run_evals(HttpTarget(endpoint.url + "/echo"), MOCKED)
    assert "2 items (m1, m2) set tool_mocks or unmocked_tools" in str(caught.value)
    assert '"{{tool_mocks}}"' in str(caught.value) and endpoint.requests == []
    [plain] = run_evals(HttpTarget(endpoint.url + "/echo"), MOCKED[1:2]).items  # no mocks: nothing to refuse
    assert plain.error is None


def test_an_http_target_sends_the_mocks_where_its_body_says(endpoint: FakeServer) -> None:
    body = {"input": "{{input}}", "mocks": "{{tool_mocks}}", "unmocked": "{{unmocked_tools}}"}
    result = run_evals(HttpTarget(endpoint.url + "/echo", body=body, output="$.received"), MOCKED)
    sent = {r.item.id: r.output for r in result.items}
    assert sent["m1"] == {"input": "where is order 7?", "mocks": {"lookup_order": {"status": "shipped"}},
                          "unmocked": None}
    assert sent["m2"] == {"input": "and order 8?", "mocks": None, "unmocked": "deny"}


def test_an_eval_with_mocks_on_a_command_target_names_the_target_line(project: ProjectDir) -> None:
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: x, tool_mocks: {search: []}}\n  - {id: b, input: y}\n")
    eval_file = project.write("evals/e.yaml", "dataset: d\ntarget:\n  type: command\n  command: [cat]\n")
    result = CliRunner().invoke(cli, ["-C", str(project.root), "run", "e"])
    assert result.exit_code == 2, result.output
    assert f"{eval_file}:2:" in result.output and "1 item (a) set tool_mocks" in result.output  # at `target:`
    assert not (project.root / "runs").exists()
