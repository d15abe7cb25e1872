"""Summaries of a run's results, and threshold gates on them."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gitevals.formats import (
    GateResult,
    RunManifest,
    ScorerSummary,
    Summary,
    ThresholdConfig,
    error_limit,
    result_passed,
)

__all__ = ["Summarizer", "baseline_gates", "check_gates", "check_thresholds", "every_item_rule", "mean_and_stderr", "scorer_names", "summarize"]


def scorer_names(manifest: RunManifest, records: Iterable[Mapping[str, Any]]) -> list[str]:
    """A run's scorers: those of its summary in order, then any other found in its results."""
    names = list(manifest.summary.scores) if manifest.summary else []
    for record in records:
        for name in record.get("scores") or {}:
            if name not in names:
                names.append(name)
    return names


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


def _fields(result: Any) -> tuple[Any, Any, Mapping[str, Any], Mapping[str, Any] | None]:
    """(item id, error, scores, usage) of an ItemResult or of a results.jsonl record."""
    if isinstance(result, Mapping):
        return result.get("item_id"), result.get("error"), result.get("scores") or {}, result.get("usage")
    item = getattr(result, "item", None)
    return getattr(item, "id", None), result.error, result.scores or {}, getattr(result, "usage", None)


class _ScorerTally:
    """One scorer's values and passes, by item (so trials fold into per-item
    means); with one trial a flat array, so a large run stays small."""

    def __init__(self, by_item: bool) -> None:
        self.by_item = by_item
        self.values: dict[Any, list[float]] = {}
        self.passes: dict[Any, list[bool]] = {}
        self.flat = array("d")
        self.flat_passes = 0
        self.errors = 0
        self.skipped = 0

    def add(self, item_id: Any, score: Mapping[str, Any]) -> None:
        if score.get("skipped"):
            self.skipped += 1
        elif score.get("value") is None:
            self.errors += 1
        elif not self.by_item:
            self.flat.append(score["value"])
            self.flat_passes += bool(score.get("passed"))
        else:
            self.values.setdefault(item_id, []).append(score["value"])
            self.passes.setdefault(item_id, []).append(bool(score.get("passed")))

    def summary(self, trials: int) -> ScorerSummary:
        if not self.by_item:
            mean, stderr = mean_and_stderr(self.flat)
            scored = len(self.flat)
            return ScorerSummary(mean=mean, stderr=stderr, n=scored,
                                 pass_rate=self.flat_passes / scored if scored else None,
                                 errors=self.errors, skipped=self.skipped)
        item_means = [math.fsum(v) / len(v) for v in self.values.values()]
        mean, stderr = mean_and_stderr(item_means)
        outcomes = list(self.passes.values())
        scored = sum(len(p) for p in outcomes)
        summary = ScorerSummary(
            mean=mean,
            stderr=stderr,
            n=len(item_means),
            pass_rate=sum(sum(p) for p in outcomes) / scored if scored else None,
            errors=self.errors,
            skipped=self.skipped,
        )
        if trials > 1 and outcomes:
            spreads = [_stdev(v) for v in self.values.values()]
            summary.pass_at_k = sum(any(p) for p in outcomes) / len(outcomes)
            summary.pass_all_k = sum(all(p) for p in outcomes) / len(outcomes)
            summary.trial_spread = math.fsum(spreads) / len(spreads)
        return summary


def _stdev(values: Sequence[float]) -> float:
    """Population standard deviation: how much one item's trials disagree."""
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))


class Summarizer:
    """Totals and per-scorer statistics, fed one result at a time (ItemResults
    or results.jsonl records), so a run's memory holds scores, not outputs.

    With trials, each item's scores are averaged first, so the mean and its
    standard error are over items (repeated trials of one item are not
    independent samples). Scorer errors and skips are counted, never averaged in.
    """

    def __init__(self, scorer_names: Sequence[str], trials: int = 1) -> None:
        self.by_item = trials > 1
        self.tallies = {name: _ScorerTally(self.by_item) for name in scorer_names}
        self.usage: dict[str, float] = {}
        self.completed = self.errors = self.seen = 0
        self.failed: set[Any] = set()

    def add(self, result: Any) -> None:
        item_id, error, scores, used = _fields(result)
        self.seen += 1
        if not result_passed(error, scores):
            self.failed.add(self.seen if item_id is None else item_id)
        if error is not None:
            self.errors += 1
            return
        self.completed += 1
        for key, amount in (used or {}).items():
            if isinstance(amount, (int, float)):
                self.usage[key] = self.usage.get(key, 0) + amount
        for name, score in scores.items():
            self.tallies.setdefault(name, _ScorerTally(self.by_item)).add(self.seen if item_id is None else item_id, score)

    def summary(self, *, total_items: int, trials: int, duration_s: float) -> Summary:
        return Summary(
            total_items=total_items,
            trials=trials,
            completed=self.completed,
            errors=self.errors,
            failed_items=len(self.failed),
            scores={name: tally.summary(trials) for name, tally in self.tallies.items()},
            duration_s=round(duration_s, 4),
            usage=self.usage,
        )


def summarize(
    results: Iterable[Any],
    *,
    scorer_names: Sequence[str],
    total_items: int,
    trials: int,
    duration_s: float,
) -> Summary:
    """The Summary of all `results` (see `Summarizer`)."""
    summarizer = Summarizer(scorer_names, trials)
    for result in results:
        summarizer.add(result)
    return summarizer.summary(total_items=total_items, trials=trials, duration_s=duration_s)


def check_gates(
    summary: Summary,
    config: Mapping[str, Any],
    baseline_gates: Sequence[GateResult] = (),
) -> list[GateResult]:
    """A run's gates, from its eval's `config` (as in `manifest.config`) and the
    gates of its comparison with a baseline:

    - with `thresholds` or baseline gates, those, and a gate on the errors of
      the target and one on each scorer's (none allowed unless
      `allowed_errors`, or else `max_errors`, says how many), so that a broken
      scorer no threshold names still fails the run;
    - with neither, one gate that every item passed (an error fails its item),
      so that a failing item never leaves CI green;
    - none when nothing was scored or failed (every result awaits review).
    """
    thresholds = {
        name: value if isinstance(value, (int, float, ThresholdConfig)) else ThresholdConfig.model_validate(value)
        for name, value in (config.get("thresholds") or {}).items()
    }
    if thresholds or baseline_gates:
        return [*check_thresholds(summary, thresholds), *baseline_gates, *_error_gate(summary, config)]
    if not summary.scores and not summary.errors:
        return []
    failed = summary.failed_items
    return [GateResult(scorer="*", metric="failed_items", threshold=0, actual=failed, passed=failed == 0)]


def every_item_rule(gates: Sequence[GateResult]) -> bool:
    """Whether `gates` are those of an eval without thresholds (every item must
    pass), where a failing item is a failure of its own and not only a number."""
    return any(gate.metric == "failed_items" for gate in gates)


def baseline_gates(gates: Sequence[GateResult]) -> list[GateResult]:
    """The gates among `gates` that came from a comparison with a baseline (kept
    when a run's other gates are checked again)."""
    return [gate for gate in gates if gate.metric in ("regressed_items", "regression")]


def _error_gate(summary: Summary, config: Mapping[str, Any]) -> list[GateResult]:
    """One gate on the target's errors (`*`) and one on each scorer's, where there were any."""
    allowed = config.get("allowed_errors")
    allowed = config.get("max_errors") if allowed is None else allowed
    limit = error_limit(allowed, summary.total_items * summary.trials, "allowed_errors") or 0
    counts = {"*": summary.errors, **{name: s.errors for name, s in summary.scores.items()}}
    return [GateResult(scorer=name, metric="errors", threshold=limit, actual=count, passed=count <= limit)
            for name, count in counts.items() if count]


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
