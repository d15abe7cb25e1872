"""What a scorer is given, what it returns, and how any callable becomes one."""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "DEFAULT_THRESHOLD",
    "BoundScorer",
    "NotApplicable",
    "Score",
    "Scorer",
    "ScorerError",
    "ScorerInput",
    "as_scorer",
    "call_maybe_async",
]

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ScorerInput:
    """Everything a scorer may look at for one output."""

    input: Any
    output: Any
    expected: Any = None
    context: Mapping[str, Any] = field(default_factory=dict)
    trajectory: list[dict[str, Any]] | None = None
    expected_trajectory: Mapping[str, Any] | None = None
    target_options: Mapping[str, Any] = field(default_factory=dict)
    item_id: str | None = None

    @property
    def ground_truth(self) -> Any:
        """Mastra's name for `expected`."""
        return self.expected


@dataclass(frozen=True)
class Score:
    """A scorer's verdict: `value` in [0, 1]; `passed` defaults to value >= threshold."""

    value: float
    reason: str | None = None
    passed: bool | None = None
    details: dict[str, Any] | None = None


class ScorerError(Exception):
    """A scorer could not score this output (bad options, unreadable output, ...).

    Recorded as an error on the item's score, never as a silent 0.
    """


class NotApplicable(Exception):
    """This scorer does not apply to this item (say, it compares with `expected`
    and the item has none). Recorded as skipped: not a pass, a fail or an error.
    A scorer function may also return None to say so."""


@runtime_checkable
class Scorer(Protocol):
    """What users implement: an (async) callable from ScorerInput to a Score.

    A plain function works too; it may return a Score, a number, a bool or a
    mapping with `value` (and `reason`, `passed`, `details`), or None when it
    does not apply to the item.
    """

    def __call__(self, sample: ScorerInput) -> Score | Awaitable[Score]: ...


async def call_maybe_async(fn: Callable[..., Any], *args: Any) -> Any:
    """Call `fn`; await the result when it is awaitable."""
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


@dataclass(frozen=True)
class BoundScorer:
    """A scorer with the name its scores are stored under and its pass threshold."""

    name: str
    fn: Callable[[ScorerInput], Any]
    threshold: float = DEFAULT_THRESHOLD
    spec: Any = None
    """How the scorer was named in config, for the run's record."""
    scope: str = "output"
    """What it scores: `output`, `trajectory`, or `step:<step id>`."""

    async def __call__(self, sample: ScorerInput) -> Score:
        score = to_score(await call_maybe_async(self.fn, sample))
        if score.passed is None:
            score = Score(score.value, score.reason, score.value >= self.threshold, score.details)
        return score


def to_score(result: Any) -> Score:
    """Normalise what a scorer returned; anything outside [0, 1] is an error."""
    if result is None:
        raise NotApplicable("the scorer returned None")
    if isinstance(result, Score):
        score = result
    elif isinstance(result, bool):
        score = Score(1.0 if result else 0.0)
    elif isinstance(result, (int, float)):
        score = Score(float(result))
    elif isinstance(result, Mapping) and "value" in result:
        unknown = set(result) - {"value", "reason", "passed", "details"}
        if unknown:
            raise ScorerError(f"scorer returned unknown keys {sorted(unknown)}")
        score = Score(**result)
    else:
        raise ScorerError(
            f"scorer returned {type(result).__name__}; return a Score, a number in [0, 1], "
            "a bool, or a mapping with 'value'"
        )
    value = score.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ScorerError(f"score value {value!r} is not a number")
    if not 0.0 <= value <= 1.0:
        raise ScorerError(f"score value {value} is outside [0, 1]")
    return Score(float(value), score.reason, score.passed, score.details)


def as_scorer(obj: Any, *, name: str | None = None, threshold: float | None = None) -> BoundScorer:
    """Wrap a scorer object or function, taking its name and threshold when it has them."""
    if isinstance(obj, BoundScorer):
        if name is None and threshold is None:
            return obj
        return BoundScorer(name or obj.name, obj.fn, obj.threshold if threshold is None else threshold, obj.spec)
    if not callable(obj):
        raise TypeError(f"a scorer must be callable, got {type(obj).__name__}")
    found_name = name or getattr(obj, "name", None) or getattr(obj, "__name__", None)
    if not isinstance(found_name, str) or not found_name or found_name == "<lambda>":
        raise TypeError("give this scorer a name: as_scorer(fn, name='...')")
    found_threshold = threshold if threshold is not None else getattr(obj, "threshold", DEFAULT_THRESHOLD)
    return BoundScorer(found_name, obj, float(found_threshold))
