"""Comparing a finished run with its baseline, and the gates that comparison sets.

`gitevals run --baseline REF`, the pytest plugin and the web UI all get the
same gates this way: the eval file's `gate:` (`max_regressions`,
`fail_on_regression`) and the caller's own `fail_on_regression`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gitevals.datasets import dataset_commits
from gitevals.errors import NotFoundError
from gitevals.formats import GateConfig, GateResult, RunManifest
from gitevals.project import Project
from gitevals.runs import LoadedRun, find_baseline

if TYPE_CHECKING:  # compare's imports load only when there is a baseline to check
    from gitevals.compare import Comparison

__all__ = ["Baseline", "BaselineCheck", "check_baseline"]


@dataclass(frozen=True)
class Baseline:
    """Which run to compare with (the newest run of the eval made at `ref` or
    before it) and how."""

    ref: str
    include_changed: bool = False
    tolerance: float = 0.05
    alpha: float = 0.05
    fail_on_regression: bool = False


@dataclass(frozen=True)
class BaselineCheck:
    """The comparison with the baseline and its gates; `missing` says why there
    is no comparison (no run of the eval at that ref)."""

    comparison: Comparison | None = None
    gates: list[GateResult] = field(default_factory=list)
    missing: str | None = None


def check_baseline(project: Project, run: LoadedRun, baseline: Baseline, gate: GateConfig | None) -> BaselineCheck:
    from gitevals.compare import compare, comparison_gates

    manifest: RunManifest = run.manifest
    try:
        old = find_baseline(project, manifest.eval, baseline.ref, exclude=manifest.id)
    except NotFoundError as exc:
        return BaselineCheck(missing=str(exc))
    comparison = compare(
        old, run, include_changed=baseline.include_changed, tolerance=baseline.tolerance, alpha=baseline.alpha,
        dataset_commits=dataset_commits(project, old.manifest, manifest),
    )
    gates = comparison_gates(
        comparison,
        max_regressions=gate.max_regressions if gate else None,
        fail_on_regression=baseline.fail_on_regression or bool(gate and gate.fail_on_regression),
    )
    return BaselineCheck(comparison, gates)
