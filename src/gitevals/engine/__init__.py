"""The one place that runs targets and scorers: planning an eval, executing items concurrently,
recording the run, and re-scoring a finished run.
"""

from typing import TYPE_CHECKING

from gitevals._util.lazy import attach

if TYPE_CHECKING:
    from ._baseline import Baseline, BaselineCheck
    from ._eval import EvalPlan, RunOutcome, arun_eval, missing_pairs, plan_eval, plan_resume, run_eval
    from ._execute import EvalResult, ItemResult, arun_evals, run_evals
    from ._rescore import ascore_run, score_run

__all__ = [
    "Baseline",
    "BaselineCheck",
    "EvalPlan",
    "EvalResult",
    "ItemResult",
    "RunOutcome",
    "arun_eval",
    "arun_evals",
    "ascore_run",
    "missing_pairs",
    "plan_eval",
    "plan_resume",
    "run_eval",
    "run_evals",
    "score_run",
]

__getattr__, __dir__ = attach(__name__, {
    "_baseline": ["Baseline", "BaselineCheck"],
    "_eval": ["EvalPlan", "RunOutcome", "arun_eval", "missing_pairs", "plan_eval", "plan_resume", "run_eval"],
    "_execute": ["EvalResult", "ItemResult", "arun_evals", "run_evals"],
    "_rescore": ["ascore_run", "score_run"],
})
