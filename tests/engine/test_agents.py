"""Agents and workflows: trajectories, tool mocks, scorer configurations, trajectory scorers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anyio
import pytest
from click.testing import CliRunner

from gitevals import run_evals, trace
from gitevals.cli import cli
from gitevals.runs import list_runs, read_results
from gitevals.scorers import ScorerInput, resolve_scorer
from tests.conftest import ProjectDir


@trace.tool
def lookup_order(order_id: str) -> dict[str, str]:
    return {"id": order_id, "status": "shipped"}


@trace.tool(name="weather")
async def get_weather(city: str) -> str:
    await asyncio.sleep(0.005)
    return f"real weather in {city}"


@trace.step
def plan(question: str) -> str:
    return lookup_order(question)["status"]


async def agent(question: str) -> str:
    status = lookup_order(question)
    forecast = await get_weather(question)
    return f"{status['status']} / {forecast}"


def test_trajectory_capture_never_mixes_concurrent_items() -> None:
    data = [{"id": f"i{n}", "input": f"order-{n}"} for n in range(20)]
    result = run_evals(agent, data, concurrency=10)
    for item in result.items:
        steps = item.trajectory
        assert [s["name"] for s in steps] == ["lookup_order", "weather"]
        assert steps[0]["args"] == {"order_id": item.item.input}  # its own arguments, never another item's
        assert steps[1]["result"] == f"real weather in {item.item.input}"
        assert steps[1]["duration_ms"] >= 4


def test_steps_nest_their_tool_calls_and_sync_targets_in_threads_record_too() -> None:
    def workflow(question: str) -> str:
        return plan(question)

    [item] = run_evals(workflow, [{"input": "A1"}]).items
    [step] = item.trajectory
    assert step["type"] == "workflow_step" and step["name"] == "plan" and step["result"] == "shipped"
    assert step["args"] == "A1"  # a step's one argument is its input
    assert step["children"][0]["name"] == "lookup_order" and step["children"][0]["args"] == {"order_id": "A1"}
    assert lookup_order("outside a run") == {"id": "outside a run", "status": "shipped"}  # plain call outside


def test_tool_errors_are_recorded_and_record_by_hand() -> None:
    @trace.tool
    def flaky(x: int) -> int:
        raise ConnectionError("down")

    def target(question: str) -> str:
        trace.record("model_call", "fake-model", tokens={"input": 10, "output": 3})
        try:
            flaky(1)
        except ConnectionError:
            pass
        return "gave up"

    [item] = run_evals(target, [{"input": "q"}]).items
    model, tool_step = item.trajectory
    assert model == {"type": "model_call", "name": "fake-model", "result": None, "tokens": {"input": 10, "output": 3}}
    assert tool_step["error"] == "ConnectionError: down" and "result" not in tool_step


def test_tool_mocks_values_in_turn_and_cases() -> None:
    async def twice(question: str) -> str:
        first = await get_weather("Paris")
        second = await get_weather("Oslo")
        third = await get_weather("Rome")
        return f"{first}|{second}|{third}"

    data = [
        {"id": "constant", "input": "q", "tool_mocks": {"weather": "sunny"}},
        {"id": "turns", "input": "q", "tool_mocks": {"weather": ["rain", "snow"]}},
        {"id": "cases", "input": "q", "tool_mocks": {"weather": [
            {"args": {"city": "Oslo"}, "result": "cold"}, {"result": "mild"}]}},
    ]
    items = {r.item.id: r for r in run_evals(twice, data).items}
    assert items["constant"].output == "sunny|sunny|sunny"
    assert items["turns"].output == "rain|snow|snow"  # the last value repeats
    assert items["cases"].output == "mild|cold|mild"
    assert all(s["mocked"] for s in items["cases"].trajectory)


def test_unmocked_tools_deny() -> None:
    data = [{"id": "d", "input": "A1", "tool_mocks": {"weather": "sunny"}, "unmocked_tools": "deny"}]
    [item] = run_evals(agent, data).items
    assert item.error is not None and item.error["type"] == "ToolNotAllowed"
    assert "lookup_order" in item.error["message"]
    assert item.trajectory[0]["error"].startswith("ToolNotAllowed")


def test_agent_scorer_config_names_scores_by_scope() -> None:
    data = [{"input": "A1", "expected": "shipped", "expected_trajectory": {"steps": [{"name": "lookup_order"}, {"name": "weather"}]}}]
    result = run_evals(agent, data, {"agent": ["contains"], "trajectory": ["trajectory_accuracy", "tool_call_accuracy"]})
    [item] = result.items
    assert set(item.scores) == {"contains", "trajectory.trajectory_accuracy", "trajectory.tool_call_accuracy"}
    assert item.scores["trajectory.trajectory_accuracy"]["value"] == 1.0
    assert result.scores["trajectory.tool_call_accuracy"] == 1.0


def test_workflow_step_scorers_get_the_step_input_and_output() -> None:
    @trace.step(name="validate")
    def validate(order: dict[str, Any]) -> dict[str, Any]:
        return {**order, "valid": order["qty"] > 0}

    @trace.step(name="price")
    def price(order: dict[str, Any]) -> float:
        return order["qty"] * 2.5

    def workflow(order: dict[str, Any]) -> float:
        return price(validate(order))

    def is_valid(sample: ScorerInput) -> bool:
        return sample.output["valid"] and sample.input["qty"] == sample.output["qty"]

    scorers = {
        "workflow": [{"type": "numeric_close", "name": "total"}],
        "steps": {"validate": [is_valid], "ship": ["json_valid"]},
        "trajectory": [{"type": "trajectory_accuracy", "ordering": "strict"}],
    }
    data = [{"input": {"qty": 4}, "expected": 10, "expected_trajectory": {"steps": [
        {"type": "workflow_step", "name": "validate"}, {"type": "workflow_step", "name": "price"}]}}]
    [item] = run_evals(workflow, data, scorers).items
    assert item.scores["total"]["value"] == 1.0
    assert item.scores["steps.validate.is_valid"]["value"] == 1.0
    assert item.scores["trajectory.trajectory_accuracy"]["value"] == 1.0
    never = item.scores["steps.ship.json_valid"]
    assert never["value"] is None and never["error"]["type"] == "StepNotRun"
    assert "step 'ship' never ran (steps that ran: price, validate)" in never["error"]["message"]


def test_trajectory_scorer_without_a_trajectory_is_an_error_not_zero() -> None:
    data = [{"input": "x", "expected_trajectory": {"steps": [{"name": "search"}]}}]
    result = run_evals(lambda q: q, data, {"agent": [], "trajectory": ["trajectory_accuracy"]})
    score = result.items[0].scores["trajectory.trajectory_accuracy"]
    assert score["value"] is None and score["error"]["type"] == "NoTrajectory"
    assert result.summary.scores["trajectory.trajectory_accuracy"].errors == 1


def score(spec: Any, names: list[str], expected: dict[str, Any], args: list[dict[str, Any]] | None = None,
          **extra: Any) -> tuple[float, str | None]:
    steps = [{"type": "tool_call", "name": n, "args": (args or [{}] * len(names))[i], **extra} for i, n in enumerate(names)]
    result = anyio.run(resolve_scorer(spec), ScorerInput(input="q", output="o", trajectory=steps, expected_trajectory=expected))
    return result.value, result.reason


def steps(*names: str, **fields: Any) -> dict[str, Any]:
    return {"steps": [{"type": "tool_call", "name": n} for n in names], **fields}


@pytest.mark.parametrize(
    ("ordering", "actual", "value", "reason"),
    [
        ("relaxed", ["a", "x", "b", "c"], 1.0, "extra x"),
        ("relaxed", ["b", "a"], 1 / 3, "missing c; out of order a"),  # the best in-order match keeps b
        ("relaxed", ["a"], 1 / 3, "missing b, c"),
        ("strict", ["a", "b", "c"], 1.0, None),
        ("strict", ["a", "c", "b"], 1 / 3, "step 2: expected b, got c; step 3: expected c, got b"),
        ("strict", ["a", "b"], 2 / 3, "expected 3 steps, got 2"),
        ("unordered", ["c", "a", "b"], 1.0, None),
        ("unordered", ["c", "c"], 1 / 3, "missing a, b; extra c"),
    ],
)
def test_trajectory_accuracy_formulas(ordering: str, actual: list[str], value: float, reason: str | None) -> None:
    got, why = score({"type": "trajectory_accuracy", "ordering": ordering}, actual, steps("a", "b", "c"))
    assert got == pytest.approx(value, abs=1e-6) and why == reason


def test_item_ordering_overrides_and_args_and_repeats() -> None:
    assert score("trajectory_accuracy", ["b", "a"], steps("a", "b", ordering="unordered"))[0] == 1.0
    expected = {"steps": [{"name": "search", "args": {"q": "paris"}}]}
    assert score("trajectory_accuracy", ["search"], expected, [{"q": "paris", "limit": 3}])[0] == 1.0
    assert score("trajectory_accuracy", ["search"], expected, [{"q": "rome"}])[0] == 0.0
    # a, a, a, b against a, b: two repeats -> 2 / (2 + 2)
    got, why = score({"type": "trajectory_accuracy", "repeated": "penalize"}, ["a", "a", "a", "b"], steps("a", "b"))
    assert got == pytest.approx(0.5) and "2 repeated steps" in why


def test_nested_expectations() -> None:
    trajectory = [{"type": "workflow_step", "name": "research", "children": [
        {"type": "tool_call", "name": "search"}, {"type": "tool_call", "name": "read"}]}]
    expected = {"steps": [{"type": "workflow_step", "name": "research", "children": [
        {"type": "tool_call", "name": "search"}, {"type": "tool_call", "name": "summarize"}]}]}
    result = anyio.run(resolve_scorer("trajectory_accuracy"),
                       ScorerInput(input="q", output="o", trajectory=trajectory, expected_trajectory=expected))
    assert result.value == pytest.approx(0.5)


def test_combined_trajectory_score() -> None:
    assert score("trajectory", ["a", "b"], steps("a", "b", blacklist=["drop_table"]))[0] == 1.0
    assert score("trajectory", ["a", "drop_table"], steps("a", blacklist=["drop_table"])) == (0.0, "used forbidden tool drop_table")
    assert score("trajectory", ["pay", "refund"], steps(blacklist=[["pay", "refund"]]))[1] == "used forbidden sequence pay -> refund"
    # 4 steps against a budget of 2 halves the accuracy of 1.0
    got, why = score({"type": "trajectory", "max_steps": 2}, ["a", "x", "b", "c"], steps("a", "b", "c"))
    assert got == pytest.approx(0.5) and "4 steps over the budget of 2" in why
    got, _ = score("trajectory", ["a", "b"], steps("a", "b", max_total_tokens=100), tokens={"total": 100})
    assert got == pytest.approx(0.5)  # 200 tokens for a budget of 100
    # two failed calls of one tool, one allowed: 1 excess failure among 2 calls
    got, why = score("trajectory", ["a", "a"], steps("a", max_retries_per_tool=1), error="boom")
    assert got == pytest.approx(0.5) and "1 tool failure beyond tolerance" in why
    assert score("trajectory", ["a", "a"], steps("a", allow_tool_failures=True), error="boom")[0] == 1.0


def test_tool_call_accuracy() -> None:
    assert score({"type": "tool_call_accuracy", "tool": "search", "args": {"q": "x"}}, ["search"], {}, [{"q": "x"}])[0] == 1.0
    assert score({"type": "tool_call_accuracy", "tool": "search", "args": {"q": "x"}}, ["search"], {}, [{"q": "y"}])[0] == 0.0
    assert score("tool_call_accuracy", ["search"], {"steps": [{"name": "search"}, {"name": "book"}]}) == (0.5, "not called: book")


def test_agent_and_workflow_forms_in_eval_files(project: ProjectDir) -> None:
    project.write("my_agent.py", """
        from gitevals import trace

        @trace.tool
        def lookup(order_id):
            return "shipped"

        def answer(question):
            return "Your order is " + lookup(question)
    """)
    project.write("datasets/d.yaml", """
        items:
          - id: a1
            input: A1
            expected: shipped
            expected_trajectory: {steps: [{type: tool_call, name: lookup}]}
          - id: a2
            input: A2
            expected: shipped
            tool_mocks: {lookup: delayed}
            expected_trajectory: {steps: [{type: tool_call, name: lookup, args: {order_id: A2}}]}
    """)
    project.write("evals/e.yaml", """
        dataset: d
        target: my_agent:answer
        scorers:
          agent: [contains]
          trajectory: [trajectory_accuracy, {type: trajectory, name: path, max_steps: 1}]
        thresholds: {trajectory.trajectory_accuracy: 1}
    """)
    result = CliRunner().invoke(cli, ["-C", str(project.root), "run", "e"], catch_exceptions=False)
    assert result.exit_code == 0, result.output  # a2's answer misses 'shipped'; its path, the gated part, is right
    [run] = list_runs(project.root / "runs", "e")
    records = {r["item_id"]: r for r in read_results(run.path)}
    assert records["a2"]["output"] == "Your order is delayed"
    assert records["a2"]["trajectory"][0]["mocked"] is True
    assert records["a2"]["scores"]["trajectory.trajectory_accuracy"]["value"] == 1.0
    assert set(run.manifest.summary.scores) == {"contains", "trajectory.trajectory_accuracy", "trajectory.path"}
    assert "pass  trajectory.trajectory_accuracy  mean 1.00, needs >= 1.00" in result.output
    specs = json.dumps(run.manifest.config["scorers"])
    assert '"name": "trajectory.path"' in specs
    project.write("evals/bad.yaml", "dataset: d\ntarget: my_agent:answer\nscorers:\n  agent: [contains]\n  trajectroy: [trajectory]\n")
    bad = CliRunner().invoke(cli, ["-C", str(project.root), "run", "bad"], catch_exceptions=False)
    assert bad.exit_code == 2 and "unknown key 'trajectroy'" in bad.output


def test_no_tool_calls_is_scored_when_none_are_expected() -> None:
    data = [{"input": "x", "expected_trajectory": {"blacklist": ["issue_refund"]}}]
    [item] = run_evals(lambda q: q, data, {"agent": [], "trajectory": ["trajectory"]}).items
    assert item.scores["trajectory.trajectory"] == {"value": 1.0, "passed": True, "reason": None}


def test_a_single_blacklisted_tool_written_as_a_string() -> None:
    assert score("trajectory", ["issue_refund"], {"blacklist": "issue_refund"}) == (0.0, "used forbidden tool issue_refund")


def test_other_arguments_are_not_called_out_of_order() -> None:
    expected = {"steps": [{"name": "get_policy", "args": {"topic": "refunds"}}]}
    assert score("trajectory_accuracy", ["get_policy"], expected, [{"topic": "shipping"}]) == (0.0, "other arguments for get_policy")


def test_expected_trajectory_keys_are_checked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gitevals.datasets import load_dataset
    from gitevals.errors import DataError

    path = tmp_path / "d.yaml"
    path.write_text("items:\n  - id: a\n    input: x\n    expected_trajectory: {ordring: strict, steps: []}\n")
    with pytest.raises(DataError, match="unknown key 'ordring'") as caught:
        load_dataset(path)
    assert "did you mean 'ordering'" in str(caught.value)


def test_expected_step_types_are_checked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gitevals.datasets import load_dataset
    from gitevals.errors import DataError

    path = tmp_path / "d.yaml"
    path.write_text("items:\n  - id: a\n    input: x\n    expected_trajectory: {steps: [{type: tool_cal, name: x}]}\n"
                    "  - id: b\n    input: y\n    expected_trajectory:\n      steps:\n"
                    "        - {name: p, children: [{type: workflow_stp, name: q}], toolName: p}\n")
    with pytest.raises(DataError) as caught:
        load_dataset(path)
    assert [f"{p.line}:{p.col}: {p.message}" for p in caught.value.problems] == [
        "4:36: expected_trajectory.steps[0].type of item 'a' (#1): "
        "'tool_cal' is not a kind of step; did you mean 'tool_call'?",
        "9:33: expected_trajectory.steps[0].children[0].type of item 'b' (#2): "
        "'workflow_stp' is not a kind of step; did you mean 'workflow_step'?",
    ]
    path.write_text("items:\n  - id: a\n    input: x\n    expected_trajectory:\n      steps:\n"
                    "        - {type: tool_call, name: x, args: {n: 1}, optional: true, toolName: x}\n"
                    "        - {name: y, children: [{type: workflow_step, name: z}]}\n"
                    "        - {type: model_call, name: gpt}\n"
                    "        - {type: retrieval, name: kb}\n")  # a kind a target records with trace.record
    [item] = load_dataset(path).items
    assert item.expected_trajectory == {"steps": [
        {"type": "tool_call", "name": "x", "args": {"n": 1}, "optional": True, "toolName": "x"},
        {"name": "y", "children": [{"type": "workflow_step", "name": "z"}]},
        {"type": "model_call", "name": "gpt"},
        {"type": "retrieval", "name": "kb"},
    ]}


def with_optional(*names: str, optional: str, **fields: Any) -> dict[str, Any]:
    return {"steps": [{"type": "tool_call", "name": n, **({"optional": True} if n == optional else {})}
                      for n in names], **fields}


@pytest.mark.parametrize(
    ("ordering", "actual", "value", "reason"),
    [
        ("strict", ["a", "c"], 1.0, None),  # b skipped: no gap in the order
        ("strict", ["a", "b", "c"], 1.0, None),  # b taken: counted like any step
        ("strict", ["a", "c", "b"], 1 / 3, "step 2: expected b, got c; step 3: expected c, got b"),
        ("relaxed", ["a", "c"], 1.0, None),
        ("relaxed", ["c"], 1 / 2, "missing a"),
        ("unordered", ["c", "a"], 1.0, None),
    ],
)
def test_a_skipped_optional_step_costs_nothing(ordering: str, actual: list[str], value: float,
                                               reason: str | None) -> None:
    expected = with_optional("a", "b", "c", optional="b")
    got, why = score({"type": "trajectory_accuracy", "ordering": ordering}, actual, expected)
    assert got == pytest.approx(value, abs=1e-6) and why == reason


def test_only_optional_steps_expected() -> None:
    expected = with_optional("cache", optional="cache")
    assert score("trajectory_accuracy", [], expected) == (1.0, None)
    assert score("trajectory_accuracy", ["search"], expected) == (1.0, None)  # relaxed: extra steps are free
    assert score({"type": "trajectory_accuracy", "ordering": "strict"}, ["search"], expected)[0] == 0.0
    assert score("tool_call_accuracy", ["search"], {"steps": [{"name": "search"}, {"name": "book", "optional": True}]}) == (1.0, None)
    assert score("tool_call_accuracy", ["book"], {"steps": [{"name": "search"}, {"name": "book", "optional": True}]}) == (0.5, "not called: search")


def test_a_step_scorer_of_an_optional_step_that_did_not_run_is_skipped() -> None:
    @trace.step(name="validate")
    def validate(order: dict[str, Any]) -> dict[str, Any]:
        return order

    def workflow(order: dict[str, Any]) -> dict[str, Any]:
        return validate(order)

    expected = {"steps": [{"type": "workflow_step", "name": "validate"},
                          {"type": "workflow_step", "name": "notify", "optional": True}]}
    scorers = {"workflow": [], "steps": {"notify": ["json_valid"], "validate": ["json_valid"]},
               "trajectory": [{"type": "trajectory_accuracy", "ordering": "strict"}]}
    [item] = run_evals(workflow, [{"input": {"qty": 1}, "expected_trajectory": expected}], scorers).items
    skipped = item.scores["steps.notify.json_valid"]
    assert skipped["skipped"] is True and skipped["reason"] == "optional step 'notify' did not run"
    assert "error" not in skipped
    assert item.scores["trajectory.trajectory_accuracy"]["value"] == 1.0
