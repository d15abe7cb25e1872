"""Comparing two runs: which items changed, per-scorer statistics, and a verdict.

Items are lined up by id and classed by the content hashes stored with every
result. Statistics use per-item means (over trials) of the items present in
both runs with unchanged input and expected, unless asked otherwise. For each
scorer: the paired mean delta (B - A), its 95% confidence interval and the
paired t-test's p-value. A scorer has `regressed` only when its delta is below
-tolerance *and* significant; a drop that noise could explain is
`inconclusive`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gitevals._util.gc import paused_gc
from gitevals._util.words import id_list
from gitevals.formats import GateResult, ResultRecord, RunManifest, recorded_scorers, scorer_config_key
from gitevals.git import CommitInfo
from gitevals.runs import LoadedRun, scorer_names

from ._stats import paired_t

__all__ = [
    "CLASSES",
    "Comparison",
    "ItemDelta",
    "RunHeader",
    "ScorerComparison",
    "Caveat",
    "compare",
    "comparison_gates",
]

CLASSES = ("unchanged", "added", "removed", "input_changed", "expected_changed", "context_changed")
"""How an item of run B relates to the same id in run A."""

_STAT_CLASSES = {"unchanged", "context_changed"}


@dataclass(frozen=True)
class RunHeader:
    """Which run, made where."""

    id: str
    eval: str
    dataset: str | None
    commit: str | None
    dirty: bool
    started_at: str
    status: str
    source: str

    @classmethod
    def of(cls, manifest: RunManifest, source: str) -> RunHeader:
        git = manifest.git
        return cls(
            manifest.id,
            manifest.eval,
            manifest.dataset,
            git.commit if git else None,
            bool(git and git.dirty),
            manifest.started_at,
            manifest.status,
            source,
        )


@dataclass(frozen=True)
class Caveat:
    """Something that makes the two runs less comparable than they look."""

    kind: str
    message: str


@dataclass(frozen=True)
class ScorerComparison:
    """One scorer across the two runs."""

    name: str
    n: int
    """Items scored in both runs and used for the statistics."""
    mean_a: float | None
    mean_b: float | None
    delta: float | None
    """Paired mean of B - A."""
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    regressed: int
    """Items that went from pass to fail, or dropped by more than the tolerance."""
    improved: int
    missing_a: int
    """Items with no score in A (target or scorer error, or skipped) but one in B."""
    missing_b: int
    verdict: str
    """`regressed`, `improved`, `unchanged` or `inconclusive`."""


@dataclass(frozen=True)
class ItemDelta:
    """One item whose score moved between the runs, with what is needed to see why."""

    item_id: str
    scorer: str
    value_a: float
    value_b: float
    passed_a: bool
    passed_b: bool
    input: Any
    expected: Any
    output_a: Any
    output_b: Any
    reason_b: str | None
    item_class: str

    @property
    def delta(self) -> float:
        return self.value_b - self.value_a


@dataclass
class Comparison:
    """Everything `compare` found."""

    a: RunHeader
    b: RunHeader
    classes: dict[str, list[str]]
    warnings: list[Caveat]
    dataset_commits: list[CommitInfo]
    scorers: list[ScorerComparison]
    regressions: list[ItemDelta]
    improvements: list[ItemDelta]
    errors_a: list[str]
    """Items used for the statistics whose target failed in every trial of A."""
    errors_b: list[str]
    tolerance: float
    alpha: float
    include_changed: bool
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def regressed(self) -> bool:
        return any(s.verdict == "regressed" for s in self.scorers)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["regressed"] = self.regressed
        for key in ("regressions", "improvements"):
            for entry, delta in zip(data[key], getattr(self, key), strict=True):
                entry["delta"] = delta.delta
        return data


class _Item:
    """One item of one run, its trials folded together: per scorer the sum of
    values, the number of values and the number of passes."""

    __slots__ = ("hashes", "record", "trials", "errored", "scores")

    def __init__(self, record: ResultRecord) -> None:
        self.hashes = (record["input_hash"], record["expected_hash"], record.get("hash", ""))
        self.record = record  # the first trial without an error, for showing input and output
        self.trials = 0
        self.errored = 0
        self.scores: dict[str, list[Any]] = {}  # name -> [sum, count, passes, first reason]

    @property
    def all_errored(self) -> bool:
        return self.errored == self.trials

    def mean(self, scorer: str) -> float | None:
        found = self.scores.get(scorer)
        return found[0] / found[1] if found else None

    def passed(self, scorer: str) -> bool:
        found = self.scores.get(scorer)
        if not found:
            return False
        return bool(found[2] * 2 >= found[1])

    def reason(self, scorer: str) -> str | None:
        found = self.scores.get(scorer)
        return found[3] if found else None


def _fold(records: Sequence[ResultRecord]) -> dict[str, _Item]:
    items: dict[str, _Item] = {}
    with paused_gc():
        for record in records:
            item = items.get(record["item_id"])
            if item is None:
                item = items[record["item_id"]] = _Item(record)
            item.trials += 1
            if record.get("error") is not None:
                item.errored += 1
                continue
            if item.record.get("error") is not None:
                item.record = record
            for name, score in record.get("scores", {}).items():
                value = score.get("value")
                if value is None:
                    continue
                found = item.scores.get(name)
                if found is None:
                    item.scores[name] = [value, 1, 1 if score.get("passed") else 0, score.get("reason")]
                else:
                    found[0] += value
                    found[1] += 1
                    found[2] += 1 if score.get("passed") else 0
    return items


def _classify(a: dict[str, _Item], b: dict[str, _Item]) -> dict[str, list[str]]:
    classes: dict[str, list[str]] = {name: [] for name in CLASSES}
    for item_id, item in b.items():
        old = a.get(item_id)
        if old is None:
            classes["added"].append(item_id)
        elif old.hashes[0] != item.hashes[0]:
            classes["input_changed"].append(item_id)
        elif old.hashes[1] != item.hashes[1]:
            classes["expected_changed"].append(item_id)
        elif old.hashes[2] != item.hashes[2]:
            classes["context_changed"].append(item_id)
        else:
            classes["unchanged"].append(item_id)
    classes["removed"] = [item_id for item_id in a if item_id not in b]
    return {name: sorted(ids) for name, ids in classes.items()}


def compare(
    run_a: LoadedRun,
    run_b: LoadedRun,
    *,
    include_changed: bool = False,
    tolerance: float = 0.05,
    alpha: float = 0.05,
    dataset_commits: Sequence[CommitInfo] = (),
) -> Comparison:
    """Compare run B against baseline run A (each a `runrefs.LoadedRun`).

    `dataset_commits` are the commits between the two dataset versions that
    touched the dataset file, when the caller could ask git.
    """
    a_items, b_items = _fold(run_a.records), _fold(run_b.records)
    classes = _classify(a_items, b_items)
    usable = [
        item_id
        for name in CLASSES
        if name in _STAT_CLASSES or (include_changed and name not in ("added", "removed"))
        for item_id in classes[name]
    ]
    class_of = {item_id: name for name, ids in classes.items() for item_id in ids}
    errors_a = [i for i in usable if a_items[i].all_errored]
    errors_b = [i for i in usable if b_items[i].all_errored]
    in_a = set(scorer_names(run_a.manifest, run_a.records))
    names = [name for name in scorer_names(run_b.manifest, run_b.records) if name in in_a]
    scorers, regressions, improvements = [], [], []
    for name in names:
        result, worse, better = _compare_scorer(name, usable, a_items, b_items, class_of, tolerance, alpha)
        scorers.append(result)
        regressions += worse
        improvements += better
    regressions.sort(key=lambda d: (d.delta, d.item_id))
    improvements.sort(key=lambda d: (-d.delta, d.item_id))
    return Comparison(
        a=RunHeader.of(run_a.manifest, run_a.source),
        b=RunHeader.of(run_b.manifest, run_b.source),
        classes=classes,
        warnings=_warnings(run_a.manifest, run_b.manifest, classes, list(dataset_commits)),
        dataset_commits=list(dataset_commits),
        scorers=scorers,
        regressions=regressions,
        improvements=improvements,
        errors_a=errors_a,
        errors_b=errors_b,
        tolerance=tolerance,
        alpha=alpha,
        include_changed=include_changed,
    )


def _compare_scorer(
    name: str,
    usable: Sequence[str],
    a_items: dict[str, _Item],
    b_items: dict[str, _Item],
    class_of: dict[str, str],
    tolerance: float,
    alpha: float,
) -> tuple[ScorerComparison, list[ItemDelta], list[ItemDelta]]:
    pairs: list[tuple[str, float, float]] = []
    missing_a = missing_b = 0
    for item_id in usable:
        value_a, value_b = a_items[item_id].mean(name), b_items[item_id].mean(name)
        if value_a is None and value_b is None:
            continue
        if value_a is None:
            missing_a += 1
        elif value_b is None:
            missing_b += 1
        else:
            pairs.append((item_id, value_a, value_b))
    stats = paired_t([vb - va for _, va, vb in pairs])
    worse, better = [], []
    for item_id, value_a, value_b in pairs:
        old, new = a_items[item_id], b_items[item_id]
        passed_a, passed_b = old.passed(name), new.passed(name)
        if (passed_a and not passed_b) or value_b < value_a - tolerance:
            worse.append(_delta(item_id, name, old, new, value_a, value_b, class_of[item_id]))
        elif (passed_b and not passed_a) or value_b > value_a + tolerance:
            better.append(_delta(item_id, name, old, new, value_a, value_b, class_of[item_id]))
    n = len(pairs)
    result = ScorerComparison(
        name=name,
        n=n,
        mean_a=sum(p[1] for p in pairs) / n if n else None,
        mean_b=sum(p[2] for p in pairs) / n if n else None,
        delta=stats.mean,
        # scores are in [0, 1], so a difference of means is in [-1, 1]: a t interval
        # from few items can reach past that, which no run could ever show
        ci_low=None if stats.ci_low is None else max(-1.0, stats.ci_low),
        ci_high=None if stats.ci_high is None else min(1.0, stats.ci_high),
        p_value=stats.p_value,
        regressed=len(worse),
        improved=len(better),
        missing_a=missing_a,
        missing_b=missing_b,
        verdict=_verdict(stats.mean, stats.ci_low, stats.ci_high, stats.p_value, tolerance, alpha),
    )
    return result, worse, better


def _verdict(
    delta: float | None, low: float | None, high: float | None, p: float | None, tolerance: float, alpha: float
) -> str:
    if delta is None or p is None or low is None or high is None:
        return "inconclusive"
    if p < alpha and delta < -tolerance:
        return "regressed"
    if p < alpha and delta > tolerance:
        return "improved"
    if -tolerance <= low and high <= tolerance:
        return "unchanged"
    return "inconclusive"


def _delta(item_id: str, scorer: str, old: _Item, new: _Item, value_a: float, value_b: float, item_class: str) -> ItemDelta:
    return ItemDelta(
        item_id=item_id,
        scorer=scorer,
        value_a=value_a,
        value_b=value_b,
        passed_a=old.passed(scorer),
        passed_b=new.passed(scorer),
        input=new.record.get("input"),
        expected=new.record.get("expected"),
        output_a=old.record.get("output"),
        output_b=new.record.get("output"),
        reason_b=new.reason(scorer),
        item_class=item_class,
    )


def _warnings(a: RunManifest, b: RunManifest, classes: dict[str, list[str]], commits: list[CommitInfo]) -> list[Caveat]:
    warnings = []
    changed = {name: ids for name, ids in classes.items() if name != "unchanged" and ids}
    if a.dataset_hash != b.dataset_hash or changed:
        parts = [f"{len(ids)} {name.replace('_', ' ')} ({id_list(ids)})" for name, ids in changed.items()]
        message = f"The runs used different versions of dataset {b.dataset or a.dataset!r}: " + (
            "; ".join(parts) if parts else "items outside this comparison changed"
        )
        if commits:
            message += ". Commits that changed it: " + "; ".join(
                f"{c.short} {c.date[:10]} {c.author}: {c.subject}" for c in commits[:10]
            )
            if len(commits) > 10:
                message += f"; and {len(commits) - 10} more"
        warnings.append(Caveat("dataset_version", message))
    if a.eval != b.eval:
        warnings.append(Caveat("eval", f"The runs are of different evals: {a.eval!r} and {b.eval!r}."))
    for key, label in (("target", "target"), ("target_options", "target options"), ("trials", "trials")):
        if a.config.get(key) != b.config.get(key):
            warnings.append(
                Caveat(key, f"The {label} differ: {a.config.get(key)!r} in A, {b.config.get(key)!r} in B.")
            )
    specs_a, specs_b = _scorer_specs(a), _scorer_specs(b)
    if set(specs_a) != set(specs_b):
        warnings.append(
            Caveat("scorers", f"The scorer sets differ: {sorted(specs_a)} in A, {sorted(specs_b)} in B.")
        )
    for name in sorted(set(specs_a) & set(specs_b)):
        if specs_a[name] != specs_b[name]:
            warnings.append(
                Caveat("scorer_spec", f"Scorer {name!r} is configured differently: {specs_a[name]} in A, {specs_b[name]} in B.")
            )
    if a.tags != b.tags:
        warnings.append(Caveat("tags", f"The tag filters differ: {a.tags or 'none'} in A, {b.tags or 'none'} in B."))
    for label, manifest in (("A", a), ("B", b)):
        if manifest.git is not None and manifest.git.dirty:
            warnings.append(
                Caveat(
                    "uncommitted",
                    f"Run {label} ({manifest.id}) was made with uncommitted changes to "
                    f"{', '.join(manifest.git.dirty_paths)}: git history does not show what it ran.",
                )
            )
        if manifest.status != "completed":
            warnings.append(Caveat("status", f"Run {label} ({manifest.id}) is {manifest.status}, not completed."))
    return warnings


def _scorer_specs(manifest: RunManifest) -> dict[str, str]:
    """Scorer name -> its configuration as recorded, for spotting a changed one."""
    return {name: scorer_config_key(spec) for name, spec in recorded_scorers(manifest.config).items()}


def comparison_gates(
    comparison: Comparison, *, max_regressions: int | None = None, fail_on_regression: bool = False
) -> list[GateResult]:
    """Gates on a comparison with the baseline: how many items regressed, and
    whether any scorer's verdict is `regressed`."""
    gates = []
    if max_regressions is not None:
        count = len({delta.item_id for delta in comparison.regressions})
        gates.append(GateResult(scorer="*", metric="regressed_items", threshold=max_regressions, actual=count,
                                passed=count <= max_regressions))
    if fail_on_regression:
        for scorer in comparison.scorers:
            regressed = scorer.verdict == "regressed"
            gates.append(GateResult(scorer=scorer.name, metric="regression", threshold=0, actual=float(regressed),
                                    passed=not regressed))
    return gates
