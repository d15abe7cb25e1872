"""Words shared by every output: counts with the right plural, items named by
id, and the one way a gate is written.

Kept free of rich and of the models' imports, so that error messages and the
plain-text CI output can use it without loading either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["EVERY_ITEM_RULE", "GATE_FAIL", "GATE_PASS", "error_counts", "gate_parts", "gate_text", "id_list", "item_label", "plural", "trial_label"]

GATE_PASS = "pass"
GATE_FAIL = "FAIL"  # capitals: a failed gate is what a reader's eye must find
EVERY_ITEM_RULE = "no thresholds set, so every item must pass"


def plural(count: int | float, singular: str, plural_form: str | None = None) -> str:
    """`1 item`, `2 items`, `0 items`; `plural_form` for irregular nouns (`1 entry`, `2 entries`)."""
    many = plural_form if plural_form is not None else singular + "s"
    number = f"{count:g}" if isinstance(count, float) else str(count)
    return f"{number} {singular if count == 1 else many}"


def error_counts(summary: Any) -> str:
    """`1 target error` of a run's Summary, with `, 2 scorer errors` when a scorer
    failed: the two are told apart wherever the totals are shown."""
    scorer = sum(s.errors for s in summary.scores.values())
    return plural(summary.errors, "target error") + (f", {plural(scorer, 'scorer error')}" if scorer else "")


def item_label(item_id: Any, position: int | None = None) -> str:
    """An item as messages name it: by id, with its 1-based position in the file
    when known (`item 'refund-window' (#3)`), or by position alone (`item #3`).

    `position` is 1-based: callers that count from 0 add 1 themselves."""
    if item_id is not None and str(item_id):
        return f"item {str(item_id)!r}" + (f" (#{position})" if position is not None else "")
    return f"item #{position}" if position is not None else "an item"


def id_list(ids: Sequence[str], shown: int = 5) -> str:
    """`a, b, c and 4 more`: the first few ids of a list, and how many are left."""
    text = ", ".join(ids[:shown])
    return text + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


def trial_label(trial: int | None, trials: int) -> str:
    """` (trial 2 of 3)` for a record's 0-based `trial` in a run of several trials; empty with one."""
    return f" (trial {(trial or 0) + 1} of {trials})" if trials > 1 else ""


def gate_parts(scorer: str, metric: str, threshold: float, actual: float | None, passed: bool) -> tuple[str, str, str]:
    """(mark, subject, detail) of one gate, e.g. ("FAIL", "exact_match", "mean 0.50, needs >= 0.70").

    Every renderer (terminal, markdown, HTML) joins these in its own markup, so
    a gate reads the same wherever it is shown."""
    mark = GATE_PASS if passed else GATE_FAIL
    subject = ("all items" if metric == "failed_items" else "target" if metric == "errors" and scorer == "*"
               else "all scorers" if scorer == "*" else scorer)
    if metric == "regression":
        detail = ("no regression against the baseline" if passed
                  else "regressed against the baseline, needs no regression")
    elif metric == "failed_items":
        detail = f"{actual or 0:g} failed, needs {threshold:g} ({EVERY_ITEM_RULE})"
    elif metric == "errors":
        detail = f"errors {actual or 0:g}, needs <= {threshold:g}" + ("" if passed else " (allow some with allowed_errors)")
    elif metric == "regressed_items":
        detail = f"regressed items {actual or 0:g}, needs <= {threshold:g}"
    else:
        words = "pass rate" if metric == "pass_rate" else metric
        if actual is None:
            detail = f"{words}: no scores, needs >= {_number(threshold)}"
        else:
            shown, limit = _two_numbers(actual, threshold)
            detail = f"{words} {shown}, needs >= {limit}"
    return mark, subject, detail


def gate_text(gate: Any) -> str:
    """A `GateResult` on one plain line: `FAIL  exact_match  mean 0.50, needs >= 0.70`."""
    return "  ".join(gate_parts(gate.scorer, gate.metric, gate.threshold, gate.actual, gate.passed))


def _number(value: float, digits: int = 2) -> str:
    """At least `digits` decimals, more when the value has them (a threshold of 0.825)."""
    text = f"{value:.{digits}f}"
    return text if float(text) == value else f"{value:g}" if len(f"{value:g}") <= 6 else f"{value:.4f}"


def _two_numbers(actual: float, threshold: float) -> tuple[str, str]:
    """The run's value and the threshold, with enough decimals that a failing
    value never prints equal to its threshold (0.6996 is not shown as 0.70)."""
    limit = _number(threshold)
    digits = max(2, len(limit.partition(".")[2]))
    shown = f"{actual:.{digits}f}"
    while float(shown) >= threshold > actual and digits < 6:
        digits += 1
        shown = f"{actual:.{digits}f}"
    return shown, limit
