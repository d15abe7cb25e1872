from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import anyio
import pytest

import gitevals
from gitevals import ScorerInput, TargetResult, arun_evals, run_evals
from gitevals.engine import ItemResult
from gitevals.errors import ConfigError

DATA = [
    {"id": "a", "input": "hello", "expected": "HELLO"},
    {"id": "b", "input": "world", "ground_truth": "WORLD"},
    {"id": "c", "input": "x", "expected": "nope"},
]


def upper(text: str) -> str:
    return text.upper()


def test_sync_function_with_builtin_scorer() -> None:
    result = run_evals(upper, DATA, ["exact_match"])
    assert result.scores == {"exact_match": pytest.approx(2 / 3)}
    s = result.summary
    assert (s.total_items, s.completed, s.errors) == (3, 3, 0)
    assert s.scores["exact_match"].n == 3 and s.scores["exact_match"].pass_rate == pytest.approx(2 / 3)
    assert s.scores["exact_match"].stderr == pytest.approx(1 / 3)
    by_id = {r.item.id: r for r in result.items}
    assert by_id["b"].item.expected == "WORLD"  # ground_truth is an alias
    assert by_id["c"].passed is False and by_id["a"].passed is True


def test_async_function_and_agent_objects() -> None:
    async def shout(text: str) -> str:
        await anyio.sleep(0)
        return text.upper()

    class Agent:
        def generate(self, text: str) -> str:
            return text.upper()

    class LangChainLike:
        async def ainvoke(self, text: str) -> str:
            return text.upper()

        def invoke(self, text: str) -> str:
            raise AssertionError("the async method is preferred")

    for target in (shout, Agent(), LangChainLike(), Agent):
        assert run_evals(target, DATA, ["exact_match"]).summary.completed == 3


def test_target_options_arrive_as_keywords_and_item_start_options_win() -> None:
    seen: list[tuple[str, int]] = []

    def target(text: str, *, max_steps: int = 1, style: str = "plain") -> str:
        seen.append((style, max_steps))
        return text

    data = [{"id": "a", "input": "x"}, {"id": "b", "input": "y", "start_options": {"max_steps": 9}}]
    run_evals(target, data, target_options={"style": "bold", "max_steps": 3})
    assert sorted(seen) == [("bold", 3), ("bold", 9)]
    with pytest.raises(ConfigError, match="does not take the option 'temperature'") as caught:
        run_evals(target, data, target_options={"temperature": 0})
    assert "max_steps, style" in str(caught.value)


def test_target_result_carries_usage_and_metadata() -> None:
    def target(text: str) -> TargetResult:
        return TargetResult(output=text, usage={"input_tokens": 3, "output_tokens": 2}, metadata={"model": "fake"})

    result = run_evals(target, DATA)
    assert result.summary.usage == {"input_tokens": 9, "output_tokens": 6}
    record = result.items[0].to_record()
    assert record["metadata"] == {"model": "fake"} and record["usage"]["input_tokens"] == 3


def test_concurrency_is_respected_and_used() -> None:
    in_flight = peak = 0

    async def target(text: str) -> str:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.01)
        in_flight -= 1
        return text

    data = [{"input": str(i)} for i in range(40)]
    started = time.perf_counter()
    result = run_evals(target, data, concurrency=8)
    assert peak == 8
    assert result.summary.completed == 40
    assert time.perf_counter() - started < 40 * 0.01  # really concurrent


def test_sync_targets_run_in_worker_threads() -> None:
    threads: set[int] = set()
    barrier = threading.Barrier(4, timeout=5)

    def target(text: str) -> str:
        threads.add(threading.get_ident())
        barrier.wait()  # only passes if four calls run at the same time
        return text

    result = run_evals(target, [{"input": str(i)} for i in range(4)], concurrency=4)
    assert result.summary.errors == 0
    assert len(threads) == 4 and threading.get_ident() not in threads


def test_errors_and_timeouts_are_recorded_and_the_run_goes_on() -> None:
    async def target(text: str) -> str:
        if text == "boom":
            raise ValueError("model said no")
        if text == "slow":
            await anyio.sleep(5)
        return text

    data = [{"id": "ok", "input": "fine", "expected": "fine"}, {"id": "e", "input": "boom"}, {"id": "t", "input": "slow"}]
    started = time.perf_counter()
    result = run_evals(target, data, ["exact_match"], timeout_s=0.2, concurrency=3)
    assert time.perf_counter() - started < 2
    by_id = {r.item.id: r for r in result.items}
    error = by_id["e"].error
    assert error is not None and (error["type"], error["message"]) == ("ValueError", "model said no")
    raised_at = target.__code__.co_firstlineno + 2  # the `raise` line: the target's own frame, not the runner's
    assert error["where"].endswith(f"test_runner.py:{raised_at} in target")
    assert str(Path(gitevals.__file__).parent) not in error["traceback"]
    assert error["traceback"].endswith("ValueError: model said no")
    assert by_id["t"].error is not None and by_id["t"].error["type"] == "timeout"
    assert by_id["e"].scores == {} and by_id["ok"].scores["exact_match"]["value"] == 1.0
    assert (result.summary.completed, result.summary.errors) == (1, 2)
    assert result.summary.scores["exact_match"].n == 1  # errored items are not scored as 0


def test_retries_until_success() -> None:
    calls = {"n": 0}

    def flaky(text: str) -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("reset")
        return text

    result = run_evals(flaky, [{"input": "x"}], retries=2)
    assert result.items[0].error is None and result.items[0].attempts == 3
    calls["n"] = 0
    failed = run_evals(flaky, [{"input": "x"}], retries=1)
    assert failed.items[0].error is not None and failed.items[0].attempts == 2


def test_a_failing_scorer_is_an_error_for_that_scorer_only() -> None:
    def picky(sample: ScorerInput) -> float:
        if sample.output == "X":
            raise KeyError("no rubric")
        return 1.0

    result = run_evals(upper, DATA, [picky, "exact_match"])
    by_id = {r.item.id: r for r in result.items}
    error = by_id["c"].scores["picky"]["error"]
    assert (error["type"], error["message"]) == ("KeyError", "'no rubric'")
    assert error["where"].endswith(" in picky") and 'raise KeyError("no rubric")' in error["traceback"]
    assert by_id["c"].scores["picky"]["value"] is None
    assert by_id["c"].scores["exact_match"]["value"] == 0.0
    summary = result.summary.scores["picky"]
    assert (summary.mean, summary.n, summary.errors) == (1.0, 2, 1)


def test_scorers_that_do_not_apply_are_skipped_not_failed() -> None:
    data = [{"id": "with", "input": "a", "expected": "A"}, {"id": "without", "input": "b"}]

    def only_long(sample: ScorerInput) -> float | None:
        return None if len(sample.output) < 2 else 1.0

    result = run_evals(upper, data, ["exact_match", only_long])
    without = next(r for r in result.items if r.item.id == "without")
    assert without.scores["exact_match"]["skipped"] is True and without.passed is True
    assert without.scores["only_long"]["skipped"] is True
    summary = result.summary.scores["exact_match"]
    assert (summary.mean, summary.n, summary.skipped, summary.errors) == (1.0, 1, 1, 0)
    assert result.summary.scores["only_long"].n == 0 and result.summary.scores["only_long"].mean is None


def test_on_item_complete_sees_every_result_as_it_finishes() -> None:
    seen: list[ItemResult] = []

    async def callback(result: ItemResult) -> None:
        seen.append(result)

    run_evals(upper, DATA, ["exact_match"], on_item_complete=callback, concurrency=2)
    assert sorted(r.item.id for r in seen) == ["a", "b", "c"]
    assert all("exact_match" in r.scores for r in seen)


def test_trials_run_every_item_n_times() -> None:
    result = run_evals(upper, DATA, ["exact_match"], trials=3)
    assert len(result.items) == 9
    assert sorted((r.item.id, r.trial) for r in result.items)[:3] == [("a", 0), ("a", 1), ("a", 2)]
    summary = result.summary.scores["exact_match"]
    assert result.summary.trials == 3 and summary.n == 3  # items, each with its trials averaged
    assert (summary.pass_at_k, summary.pass_all_k, summary.trial_spread) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 0.0)


def test_trials_fold_into_per_item_means_pass_at_k_and_spread() -> None:
    calls: dict[str, int] = {}

    def flaky(text: str) -> str:
        calls[text] = calls.get(text, 0) + 1
        if text == "sometimes":
            return text if calls[text] % 2 else "wrong"  # passes in trials 1 and 3 of 4
        return text if text == "always" else "wrong"

    data = [{"id": i, "input": i, "expected": i} for i in ("always", "sometimes", "never")]
    summary = run_evals(flaky, data, ["exact_match"], trials=4).summary.scores["exact_match"]
    assert summary.mean == pytest.approx((1 + 0.5 + 0) / 3) and summary.n == 3
    assert summary.pass_rate == pytest.approx(6 / 12)
    assert summary.pass_at_k == pytest.approx(2 / 3) and summary.pass_all_k == pytest.approx(1 / 3)
    assert summary.trial_spread == pytest.approx((0 + 0.5 + 0) / 3)
    assert summary.stderr == pytest.approx(0.5 / 3 ** 0.5)  # over the three item means, not twelve scores


def test_module_attr_target(tmp_path: Path) -> None:
    (tmp_path / "echo_mod.py").write_text("def echo(x):\n    return x\n")
    sys.path.insert(0, str(tmp_path))
    assert run_evals("echo_mod:echo", [{"input": 1, "expected": 1}], ["exact_match"]).scores["exact_match"] == 1.0


def test_bad_data_and_arguments() -> None:
    with pytest.raises(ValueError, match="'input' key"):
        run_evals(upper, [{"question": "x"}])
    with pytest.raises(ValueError, match="unique ids"):
        run_evals(upper, [{"id": "a", "input": "x"}, {"id": "a", "input": "y"}])
    with pytest.raises(ValueError, match="scorer names must be unique"):
        run_evals(upper, DATA, ["exact_match", "exact_match"])
    with pytest.raises(ValueError, match="concurrency"):
        run_evals(upper, DATA, concurrency=0)


async def test_arun_evals_inside_a_running_loop() -> None:
    result = await arun_evals(upper, DATA, ["exact_match"], concurrency=3)
    assert result.summary.completed == 3


def test_request_context_reaches_targets_that_take_it() -> None:
    seen = []

    def target(text: str, request_context: dict | None = None) -> str:
        seen.append(request_context)
        return text

    run_evals(target, [{"id": "a", "input": "x", "request_context": {"user_tier": "pro"}}, {"id": "b", "input": "y"}])
    assert sorted(seen, key=str) == [None, {"user_tier": "pro"}]
    assert run_evals(upper, [{"input": "x", "request_context": {"a": 1}}]).items[0].error is None  # others are not given it
