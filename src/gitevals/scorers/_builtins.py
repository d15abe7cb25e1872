"""Built-in scorers. Each is a factory: options in, scoring function out."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from typing import Any

from gitevals._util.hashing import canonical_json

from ._base import NotApplicable, Score, ScorerError, ScorerInput
from ._judge import llm_judge
from ._trajectory import tool_call_accuracy, trajectory, trajectory_accuracy

__all__ = ["BUILTINS"]

ScoreFn = Callable[[ScorerInput], Score]
_NUMBER_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else canonical_json(value)


def _need_expected(sample: ScorerInput, scorer: str) -> Any:
    if sample.expected is None:
        raise NotApplicable(f"{scorer} compares with `expected`, and this item has none")
    return sample.expected


def _normalise(text: str, *, case_sensitive: bool, strip: bool) -> str:
    if strip:
        text = " ".join(text.split())
    return text if case_sensitive else text.casefold()


def exact_match(*, case_sensitive: bool = True, strip: bool = True) -> ScoreFn:
    """1 when the output equals `expected` (strings compared after trimming whitespace)."""

    def score(sample: ScorerInput) -> Score:
        expected = _need_expected(sample, "exact_match")
        if sample.output == expected and type(sample.output) is type(expected):
            return Score(1.0)
        got = _normalise(_text(sample.output), case_sensitive=case_sensitive, strip=strip)
        want = _normalise(_text(expected), case_sensitive=case_sensitive, strip=strip)
        if got == want:
            return Score(1.0)
        reason = f"expected {_short(want)}, got {_short(got)}"
        if _short(want) == _short(got):  # alike as far as shown
            at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
            reason += f" (they differ from character {at + 1})"
        return Score(0.0, reason)

    return score


def contains(*, value: str | list[str] | None = None, case_sensitive: bool = False) -> ScoreFn:
    """The fraction of `value` (or of `expected`) strings found in the output."""

    def score(sample: ScorerInput) -> Score:
        needles = value if value is not None else _need_expected(sample, "contains")
        needles = [needles] if not isinstance(needles, list) else needles
        if not needles:
            raise ScorerError("contains needs at least one string to look for")
        haystack = _normalise(_text(sample.output), case_sensitive=case_sensitive, strip=False)
        missing = [
            n for n in needles if _normalise(_text(n), case_sensitive=case_sensitive, strip=False) not in haystack
        ]
        found = len(needles) - len(missing)
        reason = None if not missing else "missing " + ", ".join(repr(m) for m in missing)
        return Score(found / len(needles), reason)

    return score


_FLAGS = {"ignorecase": re.IGNORECASE, "multiline": re.MULTILINE, "dotall": re.DOTALL}


def regex(*, pattern: str, flags: list[str] | None = None, full: bool = False) -> ScoreFn:
    """1 when the output matches `pattern` (anywhere, or wholly with `full: true`)."""
    bits = 0
    for flag in flags or []:
        if flag.lower() not in _FLAGS:
            raise ScorerError(f"unknown regex flag {flag!r}; use {', '.join(_FLAGS)}")
        bits |= _FLAGS[flag.lower()]
    try:
        compiled = re.compile(pattern, bits)
    except re.error as exc:
        raise ScorerError(f"bad regex {pattern!r}: {exc}") from None
    match = compiled.fullmatch if full else compiled.search

    def score(sample: ScorerInput) -> Score:
        if match(_text(sample.output)):
            return Score(1.0)
        return Score(0.0, f"no match for /{pattern}/")

    return score


def _as_json(output: Any) -> Any:
    if isinstance(output, str):
        return json.loads(output)
    return output


def json_valid() -> ScoreFn:
    """1 when the output is JSON: a string that parses, or a structured value."""

    def score(sample: ScorerInput) -> Score:
        try:
            _as_json(sample.output)
        except ValueError as exc:
            return Score(0.0, f"not valid JSON: {exc}")
        return Score(1.0)

    return score


def json_schema(*, schema: dict[str, Any]) -> ScoreFn:
    """1 when the output (parsed when it is a string) satisfies a JSON Schema."""
    import jsonschema

    validator_cls = jsonschema.validators.validator_for(schema)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ScorerError(f"not a valid JSON Schema: {exc.message}") from None
    validator = validator_cls(schema)

    def score(sample: ScorerInput) -> Score:
        try:
            value = _as_json(sample.output)
        except ValueError as exc:
            return Score(0.0, f"not valid JSON: {exc}")
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is None:
            return Score(1.0)
        where = "".join(f"[{p!r}]" for p in error.absolute_path) or "output"
        return Score(0.0, f"{where}: {error.message}")

    return score


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise ScorerError(f"{what} is a boolean, not a number")
    if isinstance(value, (int, float)):
        return float(value)
    found = _NUMBER_RE.search(_text(value))
    if found is None:
        raise ScorerError(f"{what} holds no number: {_short(_text(value))}")
    return float(found.group())


def numeric_close(*, tolerance: float = 0.0, rel_tolerance: float = 0.0) -> ScoreFn:
    """1 when the output's number is within `tolerance` (absolute) or
    `rel_tolerance` (a fraction of `expected`) of `expected`."""
    if tolerance < 0 or rel_tolerance < 0:
        raise ScorerError("tolerance and rel_tolerance must not be negative")

    def score(sample: ScorerInput) -> Score:
        want = _number(_need_expected(sample, "numeric_close"), "expected")
        try:
            got = _number(sample.output, "the output")
        except ScorerError as exc:
            return Score(0.0, str(exc))
        if abs(got - want) <= max(tolerance, rel_tolerance * abs(want)):
            return Score(1.0)
        shown = (f"{want:g}", f"{got:g}") if f"{want:g}" != f"{got:g}" else (repr(want), repr(got))
        return Score(0.0, f"expected {shown[0]}, got {shown[1]}", details={"delta": got - want})

    return score


def similarity(*, case_sensitive: bool = False) -> ScoreFn:
    """How alike the output and `expected` are as text (difflib's ratio, 0 to 1)."""

    def score(sample: ScorerInput) -> Score:
        want = _normalise(_text(_need_expected(sample, "similarity")), case_sensitive=case_sensitive, strip=True)
        got = _normalise(_text(sample.output), case_sensitive=case_sensitive, strip=True)
        ratio = round(difflib.SequenceMatcher(None, got, want).ratio(), 6)
        if ratio == 1.0:
            return Score(1.0)
        return Score(ratio, f"similarity {ratio:.2f} to expected {_short(want, 40)} (output {_short(got, 40)})")

    return score


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


BUILTINS: dict[str, Callable[..., Any]] = {
    "exact_match": exact_match,
    "contains": contains,
    "regex": regex,
    "json_valid": json_valid,
    "json_schema": json_schema,
    "numeric_close": numeric_close,
    "similarity": similarity,
    "trajectory_accuracy": trajectory_accuracy,
    "trajectory": trajectory,
    "tool_call_accuracy": tool_call_accuracy,
    "llm_judge": llm_judge,
}
"""Built-in scorer name -> factory taking the scorer's options as keywords."""
