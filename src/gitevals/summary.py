"""Summaries of a run's results, and threshold gates on them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from .models import GateResult, ScorerSummary, Summary, ThresholdConfig

__all__ = ["check_thresholds", "mean_and_stderr", "summarize"]


class _Scored(Protocol):
    error: dict[str, Any] | None
    scores: dict[str, dict[str, Any]]
    usage: dict[str, float] | None


def mean_and_stderr(values: Sequence[float]) -> tuple[float | None, float | None]:
    """The mean, and the standard error of the mean (sample standard deviation / sqrt n)."""
    n = len(values)
    if n == 0:
        return None, None
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(variance / n)


def summarize(
    results: Iterable[_Scored],
    *,
    scorer_names: Sequence[str],
    total_items: int,
    trials: int,
    duration_s: float,
) -> Summary:
    """Totals and per-scorer statistics. Scorer errors and skips are counted, never averaged in."""
    values: dict[str, list[float]] = {name: [] for name in scorer_names}
    passes = dict.fromkeys(scorer_names, 0)
    scorer_errors = dict.fromkeys(scorer_names, 0)
    skipped = dict.fromkeys(scorer_names, 0)
    usage: dict[str, float] = {}
    completed = errors = 0
    for result in results:
        if result.error is not None:
            errors += 1
            continue
        completed += 1
        for key, amount in (result.usage or {}).items():
            if isinstance(amount, (int, float)):
                usage[key] = usage.get(key, 0) + amount
        for name, score in result.scores.items():
            if name not in values:
                values[name], passes[name], scorer_errors[name], skipped[name] = [], 0, 0, 0
            if score.get("skipped"):
                skipped[name] += 1
                continue
            if score.get("value") is None:
                scorer_errors[name] += 1
                continue
            values[name].append(score["value"])
            passes[name] += bool(score.get("passed"))
    scores = {}
    for name, found in values.items():
        mean, stderr = mean_and_stderr(found)
        scores[name] = ScorerSummary(
            mean=mean,
            stderr=stderr,
            n=len(found),
            pass_rate=passes[name] / len(found) if found else None,
            errors=scorer_errors[name],
            skipped=skipped[name],
        )
    return Summary(
        total_items=total_items,
        trials=trials,
        completed=completed,
        errors=errors,
        scores=scores,
        duration_s=round(duration_s, 4),
        usage=usage,
    )


def check_thresholds(
    summary: Summary, thresholds: Mapping[str, float | ThresholdConfig]
) -> list[GateResult]:
    """One gate per threshold; a scorer with no computed score fails its gates."""
    gates = []
    for scorer, threshold in thresholds.items():
        wanted = ThresholdConfig(mean=threshold) if isinstance(threshold, (int, float)) else threshold
        found = summary.scores.get(scorer)
        for metric in ("mean", "pass_rate"):
            limit = getattr(wanted, metric)
            if limit is None:
                continue
            actual = getattr(found, metric) if found is not None else None
            gates.append(
                GateResult(
                    scorer=scorer,
                    metric=metric,
                    threshold=limit,
                    actual=actual,
                    passed=actual is not None and actual >= limit,
                )
            )
    return gates
