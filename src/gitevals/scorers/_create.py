"""`create_scorer`: a scorer built from small steps, as Mastra's createScorer does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ._base import DEFAULT_THRESHOLD, Score, ScorerError, ScorerInput, call_maybe_async, to_score

__all__ = ["ScoringContext", "StepScorer", "create_scorer"]

Step = Callable[["ScoringContext"], Any]


@dataclass(frozen=True)
class ScoringContext:
    """What each step sees: the run being scored and the results of earlier steps."""

    run: ScorerInput
    preprocess_result: Any = None
    analyze_result: Any = None
    score: float | None = None


@dataclass(frozen=True)
class StepScorer:
    """preprocess -> analyze -> generate_score -> generate_reason; each step optional
    but generate_score, and each sync or async."""

    name: str
    description: str = ""
    threshold: float = DEFAULT_THRESHOLD
    preprocess_step: Step | None = None
    analyze_step: Step | None = None
    generate_score_step: Step | None = None
    generate_reason_step: Step | None = None

    def preprocess(self, fn: Step) -> StepScorer:
        return replace(self, preprocess_step=fn)

    def analyze(self, fn: Step) -> StepScorer:
        return replace(self, analyze_step=fn)

    def generate_score(self, fn: Step) -> StepScorer:
        return replace(self, generate_score_step=fn)

    def generate_reason(self, fn: Step) -> StepScorer:
        return replace(self, generate_reason_step=fn)

    async def __call__(self, sample: ScorerInput) -> Score:
        if self.generate_score_step is None:
            raise ScorerError(f"scorer {self.name!r} has no generate_score step")
        ctx = ScoringContext(run=sample)
        if self.preprocess_step is not None:
            ctx = replace(ctx, preprocess_result=await call_maybe_async(self.preprocess_step, ctx))
        if self.analyze_step is not None:
            ctx = replace(ctx, analyze_result=await call_maybe_async(self.analyze_step, ctx))
        score = to_score(await call_maybe_async(self.generate_score_step, ctx))
        reason = score.reason
        if self.generate_reason_step is not None:
            ctx = replace(ctx, score=score.value)
            reason = await call_maybe_async(self.generate_reason_step, ctx)
        details = dict(score.details or {})
        for key in ("preprocess_result", "analyze_result"):
            value = getattr(ctx, key)
            if value is not None:
                details[key] = value
        return Score(score.value, reason, score.passed, details or None)


def create_scorer(
    id: str,
    description: str = "",
    *,
    threshold: float = DEFAULT_THRESHOLD,
    preprocess: Step | None = None,
    analyze: Step | None = None,
    generate_score: Step | None = None,
    generate_reason: Step | None = None,
) -> StepScorer:
    """Build a scorer from steps, given here or chained::

        scorer = create_scorer("mentions-refund").generate_score(
            lambda ctx: "refund" in str(ctx.run.output).lower()
        )

    Each step receives a `ScoringContext`; its return value is available to the
    next steps (`ctx.preprocess_result`, `ctx.analyze_result`, `ctx.score`).
    """
    return StepScorer(id, description, threshold, preprocess, analyze, generate_score, generate_reason)
