from __future__ import annotations

from typing import Any

import anyio
import pytest

from gitevals.errors import ConfigError
from gitevals.scorers import NotApplicable, Score, ScorerError, ScorerInput, as_scorer, create_scorer, resolve_scorer


def score(spec: Any, output: Any, expected: Any = None, **kwargs: Any) -> Score:
    scorer = resolve_scorer(spec)
    return anyio.run(scorer, ScorerInput(input="q", output=output, expected=expected, **kwargs))


def test_exact_match() -> None:
    assert score("exact_match", "Paris", "Paris").value == 1.0
    assert score("exact_match", "  Paris \n", "Paris").value == 1.0
    miss = score("exact_match", "paris", "Paris")
    assert miss.value == 0.0 and miss.passed is False and "expected 'Paris'" in (miss.reason or "")
    assert score({"type": "exact_match", "case_sensitive": False}, "paris", "Paris").value == 1.0
    assert score("exact_match", {"a": [1, 2]}, {"a": [1, 2]}).value == 1.0
    assert score("exact_match", 5, "5").value == 1.0


def test_scorers_that_need_expected_do_not_apply_instead_of_scoring_zero() -> None:
    for name in ("exact_match", "contains", "similarity", "numeric_close"):
        scorer = resolve_scorer(name)
        with pytest.raises(NotApplicable, match="compares with `expected`, and this item has none"):
            anyio.run(scorer, ScorerInput(input="q", output="x"))


def test_contains_counts_the_fraction_found() -> None:
    assert score({"type": "contains", "value": "refund"}, "Refunds take 30 days").value == 1.0
    half = score({"type": "contains", "value": ["30 days", "receipt"]}, "within 30 days")
    assert half.value == 0.5 and half.passed is True and "missing 'receipt'" in (half.reason or "")
    assert score("contains", "within 30 DAYS", "30 days").value == 1.0
    assert score({"type": "contains", "case_sensitive": True}, "within 30 DAYS", "30 days").value == 0.0


def test_regex() -> None:
    assert score({"type": "regex", "pattern": r"\d+ days"}, "in 30 days").value == 1.0
    assert score({"type": "regex", "pattern": r"\d+", "full": True}, "30 days").value == 0.0
    assert score({"type": "regex", "pattern": "hello", "flags": ["ignorecase"]}, "HELLO").value == 1.0
    with pytest.raises(ConfigError, match="bad regex"):
        resolve_scorer({"type": "regex", "pattern": "("})
    with pytest.raises(ConfigError, match="unknown regex flag"):
        resolve_scorer({"type": "regex", "pattern": "a", "flags": ["loud"]})


def test_json_valid_and_json_schema() -> None:
    assert score("json_valid", '{"a": 1}').value == 1.0
    assert score("json_valid", {"a": 1}).value == 1.0
    assert score("json_valid", "{a: 1}").value == 0.0
    schema = {"type": "object", "required": ["answer"]}
    assert score({"type": "json_schema", "schema": schema}, '{"answer": 3}').value == 1.0
    bad = score({"type": "json_schema", "schema": schema}, {"other": 3})
    assert bad.value == 0.0 and "'answer' is a required property" in (bad.reason or "")
    with pytest.raises(ConfigError, match="not a valid JSON Schema"):
        resolve_scorer({"type": "json_schema", "schema": {"type": "bogus"}})


def test_numeric_close() -> None:
    assert score("numeric_close", "The total is 42.0 EUR", 42).value == 1.0
    assert score({"type": "numeric_close", "tolerance": 0.5}, 42.4, "42").value == 1.0
    assert score({"type": "numeric_close", "rel_tolerance": 0.01}, 101, 100).value == 1.0
    assert score({"type": "numeric_close", "rel_tolerance": 0.01}, 102, 100).value == 0.0
    no_number = score("numeric_close", "no idea", 3)
    assert no_number.value == 0.0 and "holds no number" in (no_number.reason or "")


def test_similarity_and_threshold() -> None:
    same = score("similarity", "the cat sat", "The cat sat")
    assert same.value == 1.0
    near = score({"type": "similarity", "threshold": 0.95}, "the cat sat", "the cat sits")
    assert 0.7 < near.value < 0.95 and near.passed is False
    close = score({"type": "similarity", "threshold": 0.8}, "5556", "5555")
    assert close.value == 0.75 and close.passed is False
    assert close.reason == "similarity 0.75 to expected '5555' (output '5556')"
    long = score("similarity", "a" * 100, "b" * 100)
    assert long.reason == f"similarity 0.00 to expected '{'b' * 37}...' (output '{'a' * 37}...')"


@pytest.mark.parametrize(
    ("spec", "output", "expected"),
    [
        ("exact_match", "Paris", "paris"),
        ("exact_match", "x" * 100 + "a", "x" * 100 + "b"),
        ({"type": "contains", "value": ["a", "b", "c"]}, "a", None),
        ({"type": "regex", "pattern": "^yes$"}, "no", None),
        ("json_valid", "{a: 1}", None),
        ({"type": "json_schema", "schema": {"type": "object"}}, "[1]", None),
        ({"type": "json_schema", "schema": {"type": "object"}}, "{", None),
        ("numeric_close", "41", 42),
        ("numeric_close", 1.0000001, 1.0000002),
        ("numeric_close", "none", 42),
        ({"type": "similarity", "threshold": 0.9}, "5556", "5555"),
    ],
)
def test_every_builtin_says_why_it_failed(spec: Any, output: Any, expected: Any) -> None:
    failed = score(spec, output, expected)
    assert failed.passed is False and failed.reason, failed
    words = failed.reason.split()
    assert not (len(words) == 4 and words[1].rstrip(",") == words[3]), failed.reason  # not `expected 1, got 1`


def test_unknown_names_and_options_suggest_the_fix() -> None:
    with pytest.raises(ConfigError, match="unknown scorer 'exact_mach'") as caught:
        resolve_scorer("exact_mach")
    assert "did you mean 'exact_match'" in str(caught.value)
    with pytest.raises(ConfigError, match="has no option 'vaule'") as caught:
        resolve_scorer({"type": "contains", "vaule": "x"})
    assert "did you mean 'value'" in str(caught.value)
    with pytest.raises(ConfigError, match="needs the option 'pattern'"):
        resolve_scorer("regex")


def test_options_are_checked_against_their_types_when_the_scorer_is_made() -> None:
    with pytest.raises(ConfigError, match="option 'tolerance' must be float, not 'abc'") as caught:
        resolve_scorer({"type": "numeric_close", "tolerance": "abc"})
    assert caught.value.problems[0].at == ("tolerance",)  # so that an eval file's error points at the option
    with pytest.raises(ConfigError, match="option 'case_sensitive' must be bool, not 'maybe'"):
        resolve_scorer({"type": "contains", "case_sensitive": "maybe"})
    with pytest.raises(ConfigError, match="option 'rubric' must be str, not 5"):
        resolve_scorer({"type": "llm_judge", "rubric": 5})
    assert score({"type": "numeric_close", "tolerance": "0.5"}, "3.4", 3).value == 1.0  # a quoted number is a number


def test_named_project_scorers_take_overrides() -> None:
    named = {"strict": {"type": "exact_match", "case_sensitive": True}}
    scorer = resolve_scorer({"type": "strict", "threshold": 0.9}, named)
    assert scorer.name == "strict" and scorer.threshold == 0.9
    result = anyio.run(scorer, ScorerInput(input="q", output="A", expected="a"))
    assert result.value == 0.0


def test_create_scorer_runs_steps_in_order() -> None:
    calls: list[str] = []

    def preprocess(ctx: Any) -> str:
        calls.append("preprocess")
        return str(ctx.run.output).lower()

    async def analyze(ctx: Any) -> list[str]:
        calls.append("analyze")
        return [w for w in ctx.preprocess_result.split() if w in ("refund", "days")]

    def generate_score(ctx: Any) -> float:
        calls.append("score")
        return len(ctx.analyze_result) / 2

    scorer = (
        create_scorer("keywords", "finds refund words")
        .preprocess(preprocess)
        .analyze(analyze)
        .generate_score(generate_score)
        .generate_reason(lambda ctx: f"found {ctx.analyze_result} -> {ctx.score}")
    )
    result = anyio.run(as_scorer(scorer), ScorerInput(input="q", output="Refund within 30 DAYS"))
    assert calls == ["preprocess", "analyze", "score"]
    assert result.value == 1.0 and result.passed is True
    assert result.reason == "found ['refund', 'days'] -> 1.0"
    assert result.details == {"preprocess_result": "refund within 30 days", "analyze_result": ["refund", "days"]}


def test_create_scorer_without_generate_score_is_an_error() -> None:
    with pytest.raises(ScorerError, match="no generate_score step"):
        anyio.run(create_scorer("empty"), ScorerInput(input="q", output="x"))


@pytest.mark.parametrize(
    ("returned", "message"),
    [(1.5, "outside"), (-0.1, "outside"), (float("nan"), "not a number"), ("high", "returned str"), ({"valu": 1}, "returned dict")],
)
def test_out_of_range_or_odd_returns_are_errors(returned: Any, message: str) -> None:
    scorer = as_scorer(lambda sample: returned, name="odd")
    with pytest.raises(ScorerError, match=message):
        anyio.run(scorer, ScorerInput(input="q", output="x"))


def test_plain_functions_return_bools_numbers_and_mappings() -> None:
    def polite(sample: ScorerInput) -> bool:
        return "please" in sample.output

    assert anyio.run(as_scorer(polite), ScorerInput(input="q", output="please")).value == 1.0
    mapped = as_scorer(lambda s: {"value": 0.3, "reason": "meh"}, name="m", threshold=0.2)
    result = anyio.run(mapped, ScorerInput(input="q", output="x"))
    assert result == Score(0.3, "meh", True, None)
    with pytest.raises(TypeError, match="give this scorer a name"):
        as_scorer(lambda s: 1)
