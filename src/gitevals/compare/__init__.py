"""Comparing two runs item by item and scorer by scorer, with paired statistics and verdicts.
"""

from typing import TYPE_CHECKING

from gitevals._util.lazy import attach

if TYPE_CHECKING:
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

__getattr__, __dir__ = attach(__name__, {
    "_compare": ["Comparison", "ItemDelta", "RunHeader", "ScorerComparison", "compare", "comparison_gates"],
    "_stats": ["paired_t", "t_critical", "t_two_sided_p"],
})
