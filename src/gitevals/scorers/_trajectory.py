"""Trajectory scorers: did the agent or workflow take the expected path?

An expected step `{type, name, args, children, optional}` matches an actual step when the
names are equal, the types are equal (when the expected step gives one) and,
when it gives `args` (or `compare_args` is on), every expected argument has
that value. A matched step with expected `children` scores the accuracy of its
children (the same ordering rule, one level down); otherwise a match scores 1.

trajectory_accuracy, with E expected and A actual steps (of the kinds E names):
- strict:    sum of matches position by position / max(|E|, |A|)
- relaxed:   weight of the best in-order matching (longest common subsequence) / |E|
- unordered: each expected step takes its best unused actual step; sum / |E|
- repeated steps (`repeated: penalize`): times |E| / (|E| + r), where r counts
  actual steps repeating a name beyond what E expects.

trajectory = 0 when a `blacklist` tool or tool sequence occurs; otherwise
accuracy x efficiency x failure factor, where efficiency multiplies
min(1, budget / actual) for each of `max_steps`, `max_total_tokens` and
`max_duration_ms`, and the failure factor is 1 - (failed tool calls beyond
`max_retries_per_tool` per tool) / (tool calls).

tool_call_accuracy = expected tool calls that occurred anywhere (with their
arguments, when given) / expected tool calls.

A step marked `optional: true` that was not taken is left out of E (it is not
missing, and it leaves no gap in a strict order); taken, it counts like any other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

from gitevals._util.words import plural
from gitevals.formats import walk_steps

from ._base import NotApplicable, Score, ScorerError, ScorerInput

__all__ = ["tool_call_accuracy", "trajectory", "trajectory_accuracy"]

Step = Mapping[str, Any]
_ORDERINGS = ("strict", "relaxed", "unordered")


def _kind(step: Step) -> str | None:
    return step.get("type") or step.get("stepType")


def _label(step: Step) -> str:
    return str(step.get("name") or step.get("toolName") or "?")


class _Matcher:
    def __init__(self, ordering: str, compare_args: bool) -> None:
        if ordering not in _ORDERINGS:
            raise ScorerError(f"unknown ordering {ordering!r}; use {', '.join(_ORDERINGS)}")
        self.ordering = ordering
        self.compare_args = compare_args

    def match(self, expected: Step, actual: Step) -> float:
        if _label(expected) != _label(actual):
            return 0.0
        if _kind(expected) and _kind(expected) != _kind(actual):
            return 0.0
        wanted = expected.get("args")
        if (wanted is not None or self.compare_args) and wanted:
            got = actual.get("args") or {}
            if not isinstance(wanted, Mapping) or not isinstance(got, Mapping) \
                    or any(got.get(k) != v for k, v in wanted.items()):
                return 0.0
        children = expected.get("children")
        if children:
            return self.accuracy(children, actual.get("children") or [])[0]
        return 1.0

    def accuracy(self, expected: Sequence[Step], actual: Sequence[Step]) -> tuple[float, list[str]]:
        """(score, what was missing, extra or out of order) of `actual` against `expected`."""
        kinds = {_kind(s) for s in expected if _kind(s)} or {"tool_call", "workflow_step"}
        actual = [s for s in actual if _kind(s) in kinds or _kind(s) is None]
        expected, skipped = self._without_skipped_optional(expected, actual)
        if not expected:
            if not actual or (skipped and self.ordering != "strict"):
                return 1.0, []
            return 0.0, [f"expected no steps, got {', '.join(map(_label, actual))}"]
        if self.ordering == "strict":
            total = sum(self.match(e, a) for e, a in zip(expected, actual, strict=False))
            notes = [f"step {i + 1}: expected {_label(e)}, got {_label(a)}"
                     for i, (e, a) in enumerate(zip(expected, actual, strict=False)) if self.match(e, a) < 1]
            if len(actual) != len(expected):
                notes.append(f"expected {plural(len(expected), 'step')}, got {len(actual)}")
            return total / max(len(expected), len(actual)), notes
        pairs = self._in_order(expected, actual) if self.ordering == "relaxed" else self._any_order(expected, actual)
        total = sum(score for _, _, score in pairs)
        used_e = {i for i, _, _ in pairs}
        used_a = {j for _, j, _ in pairs}
        unmatched = [e for i, e in enumerate(expected) if i not in used_e]
        spare = [a for j, a in enumerate(actual) if j not in used_a]
        # taken, but not where it was expected; or taken under that name with other arguments
        late = [e for e in unmatched if any(self.match(e, a) for a in spare)]
        other_args = [e for e in unmatched if e not in late and any(_label(e) == _label(a) for a in spare)]
        explained = {_label(e) for e in late + other_args}
        notes = []
        for label, names in (
            ("missing", [_label(e) for e in unmatched if e not in late and e not in other_args]),
            ("out of order", [_label(e) for e in late]),
            ("other arguments for", [_label(e) for e in other_args]),
            ("extra", [_label(a) for a in spare if _label(a) not in explained]),
        ):
            if names:
                notes.append(f"{label} {', '.join(names)}")
        return total / len(expected), notes

    def _without_skipped_optional(self, expected: Sequence[Step], actual: Sequence[Step]) -> tuple[list[Step], bool]:
        """`expected` without its `optional: true` steps that match no step taken:
        a skipped optional step is neither missing nor a gap in a strict order."""
        kept = [e for e in expected if not e.get("optional") or any(self.match(e, a) for a in actual)]
        return kept, len(kept) < len(expected)

    def _in_order(self, expected: Sequence[Step], actual: Sequence[Step]) -> list[tuple[int, int, float]]:
        """The heaviest matching that keeps both orders (weighted LCS)."""
        rows, cols = len(expected), len(actual)
        best = [[0.0] * (cols + 1) for _ in range(rows + 1)]
        for i in range(rows - 1, -1, -1):
            for j in range(cols - 1, -1, -1):
                score = self.match(expected[i], actual[j])
                best[i][j] = max(best[i + 1][j], best[i][j + 1], (score + best[i + 1][j + 1]) if score else 0.0)
        pairs, i, j = [], 0, 0
        while i < rows and j < cols:
            score = self.match(expected[i], actual[j])
            if score and best[i][j] == score + best[i + 1][j + 1]:
                pairs.append((i, j, score))
                i, j = i + 1, j + 1
            elif best[i + 1][j] >= best[i][j + 1]:
                i += 1
            else:
                j += 1
        return pairs

    def _any_order(self, expected: Sequence[Step], actual: Sequence[Step]) -> list[tuple[int, int, float]]:
        pairs, used = [], set()
        for i, step in enumerate(expected):
            options = [(self.match(step, a), j) for j, a in enumerate(actual) if j not in used]
            score, j = max(options, default=(0.0, -1))
            if score > 0:
                used.add(j)
                pairs.append((i, j, score))
        return pairs


def _expectation(sample: ScorerInput, options: Mapping[str, Any]) -> dict[str, Any]:
    """The scorer's options, overridden by the item's expected_trajectory."""
    merged = {k: v for k, v in options.items() if v is not None}
    merged.update({k: v for k, v in (sample.expected_trajectory or {}).items() if v is not None})
    return merged


def _actual(sample: ScorerInput) -> list[Step]:
    return list(_matched_steps(sample.trajectory or []))


def _matched_steps(steps: Sequence[Step]) -> Iterator[Step]:
    """The steps an expected trajectory is matched against. Steps captured from
    OpenTelemetry spans (they carry a `span_id`) nest the agent's actions inside
    its run and its graph's nodes: an agent run and a model call (its turns,
    not its actions) give way to what they hold, and a node is followed by it,
    so that `expected_trajectory` names tool calls as it does for `@trace`."""
    for step in steps:
        if "span_id" not in step:
            yield step
            continue
        if step.get("type") not in ("agent_run", "model_call"):
            yield step
        yield from _matched_steps(step.get("children") or [])


def _repeat_factor(expected: Sequence[Step], actual: Sequence[Step]) -> tuple[float, list[str]]:
    wanted = Counter(_label(s) for s in expected)
    repeats = sum(max(0, n - max(1, wanted[name])) for name, n in Counter(_label(s) for s in actual).items())
    if not repeats:
        return 1.0, []
    return len(expected) / (len(expected) + repeats), [plural(repeats, "repeated step")]


def trajectory_accuracy(*, ordering: str = "relaxed", compare_args: bool = False, repeated: str = "allow") -> Callable[[ScorerInput], Score]:
    """How closely the steps taken follow `expected_trajectory.steps` (see the module docstring)."""
    _check_ordering(ordering)
    if repeated not in ("allow", "penalize"):
        raise ScorerError("repeated must be allow or penalize")

    def score(sample: ScorerInput) -> Score:
        expectation = _expectation(sample, {"ordering": ordering})
        if "steps" not in expectation:
            raise NotApplicable("the item has no expected_trajectory.steps")
        expected, actual = expectation["steps"], _actual(sample)
        value, notes = _Matcher(expectation["ordering"], compare_args).accuracy(expected, actual)
        if repeated == "penalize":
            factor, more = _repeat_factor(expected, actual)
            value, notes = value * factor, notes + more
        return Score(round(value, 6), "; ".join(notes) or None)

    return score


def tool_call_accuracy(*, tool: str | None = None, args: Mapping[str, Any] | None = None) -> Callable[[ScorerInput], Score]:
    """The fraction of expected tool calls that were made (with these arguments, when given)."""

    def score(sample: ScorerInput) -> Score:
        if tool is not None:
            expected = [{"type": "tool_call", "name": tool, "args": args}]
        else:
            steps = (sample.expected_trajectory or {}).get("steps") or []
            expected = [s for s in steps if _kind(s) in (None, "tool_call")]
            if not expected:
                raise NotApplicable("no `tool` option and no expected tool calls on the item")
        calls = [s for s in walk_steps(_actual(sample)) if _kind(s) == "tool_call"]
        matcher = _Matcher("unordered", compare_args=False)
        found = [e for e in expected if any(matcher.match({**e, "type": "tool_call"}, c) for c in calls)]
        missing = [_label(e) + (f"({dict(cast(Mapping[str, Any], e['args']))})" if e.get("args") else "")
                   for e in expected if e not in found and not e.get("optional")]
        counted = len(found) + len(missing)  # optional calls count only when made
        if not counted:
            return Score(1.0, "only optional tool calls were expected, and none was made")
        return Score(len(found) / counted, f"not called: {', '.join(missing)}" if missing else None)

    return score


def _check_ordering(ordering: str) -> None:
    """At load time: the matcher checks it only when an item is scored."""
    if ordering not in _ORDERINGS:
        raise ScorerError(f"unknown ordering {ordering!r}; use {', '.join(_ORDERINGS)}")


def _sequence_in(names: Sequence[str], sequence: Sequence[str]) -> bool:
    n = len(sequence)
    return any(list(names[i:i + n]) == list(sequence) for i in range(len(names) - n + 1))


def trajectory(
    *,
    ordering: str = "relaxed",
    compare_args: bool = False,
    max_steps: int | None = None,
    max_total_tokens: int | None = None,
    max_duration_ms: float | None = None,
    blacklist: Sequence[Any] | None = None,
    max_retries_per_tool: int | None = None,
) -> Callable[[ScorerInput], Score]:
    """Path, budgets, forbidden tools and tool failures in one score (see the module docstring)."""
    _check_ordering(ordering)

    def score(sample: ScorerInput) -> Score:
        want = _expectation(sample, {
            "ordering": ordering, "max_steps": max_steps, "max_total_tokens": max_total_tokens,
            "max_duration_ms": max_duration_ms, "blacklist": blacklist, "max_retries_per_tool": max_retries_per_tool,
        })
        actual = _actual(sample)
        calls = [s for s in walk_steps(actual) if _kind(s) == "tool_call"]
        names = [_label(c) for c in calls]
        forbidden = want.get("blacklist") or []
        for entry in [forbidden] if isinstance(forbidden, str) else forbidden:
            if isinstance(entry, str) and entry in names:
                return Score(0.0, f"used forbidden tool {entry}")
            if isinstance(entry, list) and _sequence_in(names, entry):
                return Score(0.0, f"used forbidden sequence {' -> '.join(entry)}")
        notes: list[str] = []
        value = 1.0
        if "steps" in want:
            value, notes = _Matcher(want["ordering"], compare_args).accuracy(want["steps"], actual)
        steps = [s for s in actual if _kind(s) in ("tool_call", "workflow_step")]
        taken = list(sample.trajectory or [])  # budgets count everything, a captured agent's model calls too
        tokens = sum(_tokens(s) for s in walk_steps(taken))
        duration = sum(s.get("duration_ms") or 0 for s in taken)
        for key, used, unit in (("max_steps", len(steps), "steps"), ("max_total_tokens", tokens, "tokens"),
                                ("max_duration_ms", duration, "ms")):
            budget = want.get(key)
            if budget is not None and used > budget:
                value *= budget / used
                notes.append(f"{used:g} {unit} over the budget of {budget:g}")
        failures = Counter(_label(c) for c in calls if c.get("error"))
        allowed = want.get("max_retries_per_tool")
        if allowed is None:
            allowed = 10**9 if want.get("allow_tool_failures") else 0
        excess = sum(max(0, n - allowed) for n in failures.values())
        if excess and calls:
            value *= max(0.0, 1 - excess / len(calls))
            notes.append(f"{plural(excess, 'tool failure')} beyond tolerance ({', '.join(f'{k} x{v}' for k, v in failures.items())})")
        return Score(round(value, 6), "; ".join(notes) or None)

    return score


def _tokens(step: Step) -> int:
    tokens = step.get("tokens") or {}
    total = tokens.get("total")
    return int(total if total is not None else (tokens.get("input") or 0) + (tokens.get("output") or 0))
