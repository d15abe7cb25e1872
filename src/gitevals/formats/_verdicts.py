"""The pass rule, in one place: what makes a score, a result and a record pass.

A skipped score (a scorer that did not apply to the item) neither passes nor
fails the result; a result with a target error never passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["record_passed", "result_passed", "score_passed"]


def score_passed(score: Mapping[str, Any]) -> bool:
    """Whether one score record passed or was skipped."""
    return bool(score.get("passed") or score.get("skipped"))


def result_passed(error: object, scores: Mapping[str, Mapping[str, Any]]) -> bool:
    """No error, and every scorer that applied passed."""
    return error is None and all(score_passed(score) for score in scores.values())


def record_passed(record: Mapping[str, Any]) -> bool:
    """Whether a results.jsonl record has no error and passed every scorer."""
    return result_passed(record.get("error"), record.get("scores") or {})
