"""Scorers: what judges an output. Built-ins, `create_scorer`, and the protocol."""

from ._base import DEFAULT_THRESHOLD, BoundScorer, NotApplicable, Score, Scorer, ScorerError, ScorerInput, as_scorer
from ._builtins import BUILTINS
from ._config import scoped, scorer_entries
from ._create import ScoringContext, StepScorer, create_scorer
from ._resolve import resolve_scorer

__all__ = [
    "BUILTINS",
    "DEFAULT_THRESHOLD",
    "BoundScorer",
    "NotApplicable",
    "Score",
    "Scorer",
    "ScorerError",
    "ScorerInput",
    "ScoringContext",
    "StepScorer",
    "as_scorer",
    "create_scorer",
    "resolve_scorer",
    "scoped",
    "scorer_entries",
]
