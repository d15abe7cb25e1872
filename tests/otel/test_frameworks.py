"""Agents built on real frameworks, run by gitevals as they are, with the
frameworks' own offline test models: their outputs unwrapped, their tool calls
in the trajectory, from their message history and from the OpenTelemetry spans
they emit, each item's spans its own."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ProjectDir

EXE = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"

PYDANTIC_AI_AGENT = '''
import re

from pydantic_ai import Agent
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import FunctionModel


def model(messages, info):
    """Asks for the order named in the question, then answers with what the tool said."""
    returned = [p for m in messages for p in m.parts if p.part_kind == "tool-return" and p.tool_name == "lookup_order"]
    if returned:
        return ModelResponse(parts=[TextPart(f"status: {returned[-1].content}")])
    question = messages[-1].parts[-1].content
    order = re.search(r"order (\\d+)", question).group(1)
    return ModelResponse(parts=[ToolCallPart("lookup_order", {"order_id": order}),
                                ToolCallPart("audit", {"note": f"asked about {order}"})])


agent = Agent(FunctionModel(model), name="support")
Agent.instrument_all()  # the framework's own OpenTelemetry instrumentation


@agent.tool_plain
def lookup_order(order_id: str) -> str:
    return f"order {order_id} shipped"


@agent.tool_plain
async def audit(note: str) -> str:
    return "noted"
'''

LANGGRAPH_AGENT = '''
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent
from openinference.instrumentation.langchain import LangChainInstrumentor

LangChainInstrumentor().instrument()  # OpenInference's instrumentation, on the global tracer provider


@tool
def lookup_order(order_id: str) -> str:
    """Look an order up."""
    return f"order {order_id} shipped"


class ToolCallingFake(GenericFakeChatModel):
    def bind_tools(self, tools, **kwargs):
        return self


def run(question):
    order = question.split()[-1]
    replies = iter([AIMessage(content="", tool_calls=[{"name": "lookup_order", "args": {"order_id": order},
                                                       "id": f"call-{order}"}]),
                    AIMessage(content=f"order {order} has shipped")])
    graph = create_react_agent(ToolCallingFake(messages=replies), [lookup_order])
    return graph.invoke({"messages": [("user", question)]})
'''


OPENAI_AGENT = '''
import json

from agents import Agent, Runner, function_tool, set_tracing_disabled
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

set_tracing_disabled(True)  # offline: nothing is sent to OpenAI's trace store


@function_tool
def lookup_order(order_id: str) -> str:
    """Look an order up."""
    return f"order {order_id} shipped"


class Scripted(Model):
    """A model that asks for the order in the question, then answers with the tool's result."""

    async def get_response(self, system_instructions, input, model_settings, tools, output_schema, handoffs,
                           tracing, **kwargs):
        returned = [i for i in input if isinstance(i, dict) and i.get("type") == "function_call_output"]
        if returned:
            text = ResponseOutputText(type="output_text", text=f"status: {returned[-1]['output']}", annotations=[])
            output = [ResponseOutputMessage(id="m", type="message", role="assistant", status="completed",
                                            content=[text])]
        else:
            question = input if isinstance(input, str) else input[0]["content"]
            output = [ResponseFunctionToolCall(id="c", call_id="call-1", type="function_call", name="lookup_order",
                                               arguments=json.dumps({"order_id": question.split()[-1]}))]
        return ModelResponse(output=output, usage=Usage(), response_id=None)

    def stream_response(self, *args, **kwargs):
        raise NotImplementedError


agent = Agent(name="shop", model=Scripted(), tools=[lookup_order])


async def run(question):
    return await Runner.run(agent, question)
'''


def make(project: ProjectDir, module: str, code: str, target: str, items: int, trace: str) -> None:
    project.write(f"{module}.py", code)
    project.write("datasets/orders.yaml", "items:\n" + "".join(
        f"  - id: o{n}\n    input: where is order {n}\n    expected: shipped\n"
        f"    expected_trajectory: {{steps: [{{name: lookup_order, args: {{order_id: '{n}'}}}}]}}\n"
        for n in range(items)))
    project.write("evals/orders.yaml", f"dataset: orders\ntarget: {target}\nconcurrency: 8\ntrace: {trace}\n"
                  "scorers:\n  agent: [contains]\n  trajectory: [trajectory_accuracy, "
                  "{type: tool_call_accuracy, tool: lookup_order}]\n")
    project.git_init()
    project.commit()


def results(project: ProjectDir) -> dict[str, dict]:
    [folder] = (project.root / "runs/orders").iterdir()
    return {r["item_id"]: r for r in map(json.loads, (folder / "results.jsonl").read_text().splitlines())}


def tool_calls(steps: list[dict]) -> list[dict]:
    found = []
    for step in steps:
        if step["type"] == "tool_call":
            found.append(step)
        found += tool_calls(step.get("children") or [])
    return found


def run_ok(project: ProjectDir) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([EXE, "run", "orders"], cwd=project.root, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.parametrize("trace", ["off", "otel"])
def test_a_pydantic_ai_agent_named_as_the_target_gives_its_output_and_its_own_tool_calls(
        project: ProjectDir, trace: str) -> None:
    make(project, "support_agent", PYDANTIC_AI_AGENT, "support_agent:agent", items=20, trace=trace)
    run_ok(project)
    found = results(project)
    assert len(found) == 20
    for n in range(20):
        record = found[f"o{n}"]
        assert record["output"] == f"status: order {n} shipped"  # not "AgentRunResult(output=...)"
        calls = tool_calls(record["trajectory"])
        assert [(c["name"], c["args"]) for c in calls] == [("lookup_order", {"order_id": str(n)}),
                                                           ("audit", {"note": f"asked about {n}"})]
        assert calls[0]["result"] == f"order {n} shipped"
        assert record["scores"]["trajectory.trajectory_accuracy"]["value"] == 1.0
    if trace == "otel":  # from the spans: nesting, durations, tokens and the ids to find the trace elsewhere
        record = found["o3"]
        [root] = record["trajectory"]
        assert root["type"] == "agent_run" and root["name"] == "support"
        kinds = [step["type"] for step in root["children"]]
        assert kinds.count("model_call") == 2 and kinds.count("tool_call") == 2
        assert all(len(step["span_id"]) == 16 and step["trace_id"] == root["trace_id"] for step in root["children"])
        assert all(step["duration_ms"] >= 0 for step in root["children"])
        assert record["usage"]["input_tokens"] > 0 and record["usage"]["output_tokens"] > 0
        assert len({found[f"o{n}"]["trajectory"][0]["trace_id"] for n in range(20)}) == 20  # one trace per item
        shown = subprocess.run([EXE, "runs", "show", "latest", "--item", "o3"], cwd=project.root, capture_output=True,
                               text=True, timeout=60)
        lines = shown.stdout.splitlines()
        assert shown.returncode == 0 and f"    agent_run support  {root['duration_ms']:.1f} ms  span {root['span_id']}" \
            in lines, shown.stdout
        tool = next(line for line in lines if "tool_call lookup_order" in line)
        assert tool.startswith('      tool_call lookup_order  {"order_id": "3"}  -> "order 3 shipped"  '), tool
        assert any(line.startswith("      model_call ") and " in / " in line for line in lines)
        from starlette.testclient import TestClient

        from gitevals.project import find_project
        from gitevals.ui import create_app

        with TestClient(create_app(find_project(project.root))) as client:
            page = client.get(f"/runs/{next((project.root / 'runs/orders').iterdir()).name}/items/o3")
        assert page.status_code == 200 and f"span <code>{root['span_id']}</code>" in page.text
        assert "tokens</span>" in page.text


@pytest.mark.parametrize("trace", ["off", "otel"])
def test_a_langgraph_agent_with_a_fake_chat_model_gives_its_answer_and_tool_calls(
        project: ProjectDir, trace: str) -> None:
    make(project, "graph_agent", LANGGRAPH_AGENT, "graph_agent:run", items=6, trace=trace)
    run_ok(project)
    found = results(project)
    for n in range(6):
        record = found[f"o{n}"]
        assert record["output"] == f"order {n} has shipped"  # the last message, not the whole state
        calls = tool_calls(record["trajectory"])
        assert [(c["name"], c["args"]) for c in calls] == [("lookup_order", {"order_id": str(n)})]
        assert calls[0]["result"] == f"order {n} shipped" or "shipped" in json.dumps(calls[0]["result"])
        assert record["scores"]["trajectory.tool_call_accuracy"]["value"] == 1.0
    if trace == "otel":
        assert any(step.get("span_id") for step in found["o0"]["trajectory"])


def test_an_openai_agents_sdk_agent_with_a_scripted_model_gives_its_final_output_and_tool_calls(
        project: ProjectDir) -> None:
    make(project, "shop_agent", OPENAI_AGENT, "shop_agent:run", items=4, trace="off")
    run_ok(project)
    found = results(project)
    for n in range(4):
        record = found[f"o{n}"]
        assert record["output"] == f"status: order {n} shipped"  # `final_output`, not the RunResult
        assert [(c["name"], c["args"], c["result"]) for c in tool_calls(record["trajectory"])] == [
            ("lookup_order", {"order_id": str(n)}, f"order {n} shipped")]


def test_trace_otel_on_a_target_that_cannot_pass_a_trace_on_is_refused_at_the_line(project: ProjectDir) -> None:
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: x}\n")
    project.write("evals/e.yaml", "dataset: d\ntarget: {type: openai, base_url: 'http://127.0.0.1:9/v1', model: m, api_key_env: null}\n"
                  "trace: otel\n")
    done = subprocess.run([EXE, "run", "e"], cwd=project.root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "evals/e.yaml:3:8: trace: otel needs a target that makes its spans in this process" in done.stderr


@pytest.mark.parametrize(("trace", "scorers", "loaded"), [
    ("auto", "[exact_match]", False),  # nothing could use a trajectory
    ("off", "{agent: [exact_match], trajectory: [trajectory_accuracy]}", False),
    ("auto", "{agent: [exact_match], trajectory: [trajectory_accuracy]}", True),
])
def test_opentelemetry_is_imported_only_by_an_eval_that_captures_spans(project: ProjectDir, trace: str, scorers: str,
                                                                       loaded: bool) -> None:
    project.write("echo_agent.py", "def run(x):\n    return x\n")
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: x, expected: x}\n")
    project.write("evals/e.yaml", f"dataset: d\ntarget: echo_agent:run\ntrace: {trace}\nscorers: {scorers}\n")
    script = ("import sys\nfrom gitevals.cli import cli\n"
              "try:\n    cli.main(['run', 'e', '--no-fail'], standalone_mode=False)\nfinally:\n"
              "    print('OTEL', 'opentelemetry' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=project.root, capture_output=True, text=True, timeout=60)
    assert f"OTEL {loaded}" in done.stdout, done.stdout + done.stderr


def test_run_evals_with_trace_otel_captures_a_pydantic_ai_agents_spans(project: ProjectDir) -> None:
    project.write("support_agent.py", PYDANTIC_AI_AGENT)
    script = ("import json, support_agent\nfrom gitevals import run_evals\n"
              "data = [{'input': f'where is order {n}', 'expected_trajectory': {'steps': [{'name': 'lookup_order', "
              "'args': {'order_id': str(n)}}]}} for n in range(6)]\n"
              "result = run_evals(support_agent.agent, data, {'agent': ['contains'], "
              "'trajectory': ['trajectory_accuracy']}, concurrency=3, trace='otel')\n"
              "print(json.dumps([[i.trajectory[0]['type'], i.usage, i.scores['trajectory.trajectory_accuracy']['value']]"
              " for i in result.items]))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=project.root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 6 and all(kind == "agent_run" and usage["input_tokens"] > 0 and value == 1.0
                                  for kind, usage, value in rows)
