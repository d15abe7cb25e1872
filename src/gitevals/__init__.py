"""gitevals: git-backed, declarative evaluations for AI agents and workflows.

The names below are imported on first use, so that `import gitevals` (and the
CLI's start-up) stays cheap; the `TYPE_CHECKING` block gives type checkers the
same names with their real signatures.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gitevals._version import __version__

__all__ = [
    "ConfigError",
    "DataError",
    "Dataset",
    "DatasetItem",
    "EvalResult",
    "GitevalsError",
    "ItemResult",
    "NotFoundError",
    "Project",
    "RetryableError",
    "Score",
    "Scorer",
    "ScorerError",
    "ScorerInput",
    "Target",
    "TargetCall",
    "TargetResult",
    "__version__",
    "arun_eval",
    "arun_evals",
    "create_scorer",
    "find_project",
    "load_dataset",
    "merge_runs",
    "plan_eval",
    "run_eval",
    "run_evals",
    "score_run",
]

if TYPE_CHECKING:
    from gitevals._util.retry import RetryableError
    from gitevals.datasets import Dataset, DatasetItem, load_dataset
    from gitevals.engine import EvalResult, ItemResult, arun_eval, arun_evals, plan_eval, run_eval, run_evals, score_run
    from gitevals.errors import ConfigError, DataError, GitevalsError, NotFoundError
    from gitevals.project import Project, find_project
    from gitevals.runs import merge_runs
    from gitevals.scorers import Score, Scorer, ScorerError, ScorerInput, create_scorer
    from gitevals.targets import Target, TargetCall, TargetResult

# Where each public name lives; kept in step with the imports above by
# tests/test_public_api.py.
_HOMES = {
    "run_evals": "engine",
    "arun_evals": "engine",
    "EvalResult": "engine",
    "ItemResult": "engine",
    "Dataset": "datasets",
    "DatasetItem": "datasets",
    "load_dataset": "datasets",
    "Project": "project",
    "find_project": "project",
    "plan_eval": "engine",
    "run_eval": "engine",
    "arun_eval": "engine",
    "score_run": "engine",
    "Score": "scorers",
    "Scorer": "scorers",
    "ScorerInput": "scorers",
    "ScorerError": "scorers",
    "create_scorer": "scorers",
    "Target": "targets",
    "TargetCall": "targets",
    "TargetResult": "targets",
    "RetryableError": "_util.retry",
    "merge_runs": "runs",
    "GitevalsError": "errors",
    "ConfigError": "errors",
    "DataError": "errors",
    "NotFoundError": "errors",
}


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module 'gitevals' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gitevals.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
