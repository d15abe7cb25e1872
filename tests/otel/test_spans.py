"""Spans to steps, by the GenAI and OpenInference conventions; and capture that
leaves the user's own tracing set-up working."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from gitevals.otel import SpanRecord, steps_from_spans, tokens_of
from tests.conftest import ProjectDir

EXE = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"


def span(span_id: str, parent: str | None, start: int, end: int, name: str = "s", error: str | None = None,
         **attributes: object) -> SpanRecord:
    return SpanRecord(name, "ab" * 16, span_id, parent, start, end, {k.replace("__", "."): v for k, v in attributes.items()},
                      error)


def test_genai_and_openinference_spans_become_nested_steps_in_the_order_they_started() -> None:
    spans = [
        span("c" * 16, "a" * 16, 30, 40, gen_ai__operation__name="execute_tool", gen_ai__tool__name="refund",
             gen_ai__tool__call__arguments='{"amount": 5}', gen_ai__tool__call__result="done"),
        span("a" * 16, None, 0, 100_000_000, name="agent run", gen_ai__operation__name="invoke_agent", gen_ai__agent__name="bot"),
        span("b" * 16, "a" * 16, 10, 20, gen_ai__operation__name="chat", gen_ai__request__model="m-1",
             gen_ai__usage__input_tokens=7, gen_ai__usage__output_tokens=3),
        span("d" * 16, "a" * 16, 50, 60, name="GET /orders"),  # not an agent's span: its child takes its place
        span("e" * 16, "d" * 16, 52, 58, error="boom", openinference__span__kind="TOOL", tool__name="lookup",
             input__value='{"id": 1}'),
        span("f" * 16, "0" * 16, 200, 300, openinference__span__kind="LLM", llm__model_name="m-2",
             llm__token_count__prompt=4, llm__token_count__completion=1),  # its parent was never seen: a root
    ]
    found = steps_from_spans(spans)
    assert [start for start, _ in found] == [0, 200]  # the order they started in
    agent, llm = (step for _, step in found)
    assert agent["type"] == "agent_run" and agent["name"] == "bot" and agent["duration_ms"] == 100.0
    assert [(c["type"], c["name"]) for c in agent["children"]] == [("model_call", "m-1"), ("tool_call", "refund"),
                                                                  ("tool_call", "lookup")]
    chat, refund, lookup = agent["children"]
    assert chat["tokens"] == {"input": 7, "output": 3} and refund["args"] == {"amount": 5} and refund["result"] == "done"
    assert lookup["error"] == "boom" and "result" not in lookup and lookup["args"] == {"id": 1}
    assert refund["span_id"] == "c" * 16 and refund["trace_id"] == "ab" * 16
    assert llm["name"] == "m-2" and tokens_of([agent, llm]) == {"input_tokens": 11.0, "output_tokens": 4.0}


def test_spans_of_no_known_kind_give_no_steps() -> None:
    assert steps_from_spans([span("a" * 16, None, 0, 1, name="db query", db__system="sqlite")]) == []
    assert steps_from_spans([]) == []


USER_TRACING = '''
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exported = InMemorySpanExporter()  # the user's own exporter, set up before gitevals runs anything
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exported))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("shop")


def run(question):
    with tracer.start_as_current_span("tool", attributes={"gen_ai.operation.name": "execute_tool",
                                                          "gen_ai.tool.name": f"tool-{question}"}):
        pass
    return len([s for s in exported.get_finished_spans() if s.name == "tool"])
'''


def test_capture_joins_a_tracer_provider_the_user_set_up_and_its_exporter_still_gets_every_span(
        project: ProjectDir) -> None:
    project.write("shop.py", USER_TRACING)
    project.write("datasets/d.yaml", "items:\n" + "".join(f"  - {{id: i{n}, input: q{n}}}\n" for n in range(10)))
    project.write("evals/e.yaml", "dataset: d\ntarget: shop:run\ntrace: otel\nconcurrency: 1\n")
    done = subprocess.run([EXE, "run", "e", "--no-fail"], cwd=project.root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    [folder] = (project.root / "runs/e").iterdir()
    records = {r["item_id"]: r for r in map(json.loads, (folder / "results.jsonl").read_text().splitlines())}
    assert sorted(r["output"] for r in records.values()) == list(range(1, 11))  # the user's exporter saw each span
    assert all([s["name"] for s in records[f"i{n}"]["trajectory"]] == [f"tool-q{n}"] for n in range(10))


def test_the_trajectory_scorers_budget_counts_the_tokens_of_captured_model_calls() -> None:
    import anyio

    from gitevals.scorers import ScorerInput, resolve_scorer

    spans = [span("a" * 16, None, 0, 10, gen_ai__operation__name="invoke_agent",
                  gen_ai__aggregated_usage__input_tokens=999),  # a total of its children: not counted again
             span("b" * 16, "a" * 16, 1, 2, gen_ai__operation__name="chat", gen_ai__usage__input_tokens=30,
                  gen_ai__usage__output_tokens=10),
             span("c" * 16, "a" * 16, 3, 4, gen_ai__operation__name="execute_tool", gen_ai__tool__name="t",
                  gen_ai__tool__call__arguments="{}")]
    steps = [step for _, step in steps_from_spans(spans)]
    sample = ScorerInput(input="q", output="a", trajectory=steps,
                         expected_trajectory={"steps": [{"name": "t"}], "max_total_tokens": 20})
    score = anyio.run(resolve_scorer({"type": "trajectory"}), sample)
    assert score.value == 0.5 and "40 tokens" in (score.reason or ""), score
