"""Comparing two runs item by item and scorer by scorer, with paired statistics and verdicts.
"""

from ._compare import Comparison, ItemDelta, RunHeader, ScorerComparison, compare, comparison_gates
from ._stats import paired_t, t_critical, t_two_sided_p

__all__ = [
    "Comparison",
    "ItemDelta",
    "RunHeader",
    "ScorerComparison",
    "compare",
    "comparison_gates",
    "paired_t",
    "t_critical",
    "t_two_sided_p",
]
