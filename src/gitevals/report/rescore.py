"""What `gitevals score` prints at the end of a pass."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from gitevals._util.words import plural

__all__ = ["render_scoring"]


def render_scoring(outcome: Any, folder: str) -> RenderableType:
    """The pass's counts, then each of its scorers over the whole run (a `scoring.ScoreOutcome`)."""
    done = outcome.scoring
    if not outcome.written:
        why = "no output to score: every target call failed"
        if outcome.plan.kept:
            why = f"every output already has a score of {', '.join(outcome.plan.scorers)}"
        return Text(f"nothing to score in {folder}/: {why}")
    table = Table(show_edge=False, header_style="bold")
    for column, justify in (("scorer", "left"), ("mean", "right"), ("pass rate", "right"), ("n", "right"),
                            ("errors", "right"), ("skipped", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for name, s in outcome.scores.items():
        table.add_row(
            escape(name),
            "-" if s.mean is None else f"{s.mean:.3f}",
            "-" if s.pass_rate is None else f"{s.pass_rate:.0%}",
            str(s.n),
            str(s.errors) if s.errors else "",
            str(s.skipped) if s.skipped else "",
        )
    counts = f"{plural(done.scored, 'score')} added"
    if done.replaced:
        counts = f"{plural(done.scored, 'score')} added or replaced ({', '.join(done.replaced)}; old values kept in history)"
    extra = [
        plural(done.errors, "scorer error") if done.errors else "",
        f"{done.reused} from an interrupted pass" if done.reused else "",
        f"{done.kept} kept" if done.kept else "",
        f"{plural(done.target_errors, 'target error')} not scored" if done.target_errors else "",
    ]
    line = ", ".join([counts, *(e for e in extra if e)])
    return Group(table, Text(line), Text(f"results: {folder}/"))
