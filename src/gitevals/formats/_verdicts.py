"""The pass rule, in one place: what makes a score, a result and a record pass.

A skipped score (a scorer that did not apply to the item) neither passes nor
fails the result; a result with a target error never passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitevals.errors import ConfigError

__all__ = ["error_limit", "record_passed", "result_passed", "score_passed"]


def score_passed(score: Mapping[str, Any]) -> bool:
    """Whether one score record passed or was skipped."""
    return bool(score.get("passed") or score.get("skipped"))


def result_passed(error: object, scores: Mapping[str, Mapping[str, Any]]) -> bool:
    """No error, and every scorer that applied passed."""
    return error is None and all(score_passed(score) for score in scores.values())


def record_passed(record: Mapping[str, Any]) -> bool:
    """Whether a results.jsonl record has no error and passed every scorer."""
    return result_passed(record.get("error"), record.get("scores") or {})


def error_limit(value: int | float | str | None, calls: int, key: str = "max_errors") -> int | None:
    """An eval's `max_errors` or `allowed_errors` as a count: `10`, `0.2` (a
    fraction of `calls`) or `"20%"`."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text.rstrip("%"))
        except ValueError:
            raise ConfigError(f"{key} {value!r} is not a count, a fraction or a percentage",
                              hint="write it like 10, 0.2 or \"20%\"") from None
        if text.endswith("%") and number >= 0:  # "100%" is every call, never a count of 1
            return int(number / 100 * calls)
        value = number
    if isinstance(value, bool) or value < 0:
        raise ConfigError(f"{key} {value!r} must not be negative")
    if isinstance(value, int) or value >= 1:
        return int(value)
    return int(value * calls)
