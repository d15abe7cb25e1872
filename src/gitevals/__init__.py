"""gitevals: git-backed, declarative evaluations for AI agents and workflows.

The names below are imported on first use, so that `import gitevals` (and the
CLI's start-up) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "run_evals": "runner",
    "arun_evals": "runner",
    "EvalResult": "runner",
    "ItemResult": "runner",
    "Dataset": "datasets",
    "DatasetItem": "datasets",
    "load_dataset": "datasets",
    "Project": "project",
    "find_project": "project",
    "plan_eval": "evals",
    "run_eval": "evals",
    "arun_eval": "evals",
    "score_run": "scoring",
    "Score": "scorers",
    "Scorer": "scorers",
    "ScorerInput": "scorers",
    "ScorerError": "scorers",
    "create_scorer": "scorers",
    "Target": "targets",
    "TargetCall": "targets",
    "TargetResult": "targets",
    "RetryableError": "_retry",
    "merge_runs": "merging",
    "GitevalsError": "errors",
    "ConfigError": "errors",
    "DataError": "errors",
    "NotFoundError": "errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gitevals' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gitevals.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
