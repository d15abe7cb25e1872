"""A comparison for people: rich text for the terminal, markdown for pull requests."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from gitevals._util.words import plural
from gitevals.compare import Comparison, ItemDelta, RunHeader, ScorerComparison

from .text import short

__all__ = ["comparison_json", "comparison_markdown", "render_comparison"]

_ITEMS_SHOWN = 10
_COLOURS = {"regressed": "bold red", "improved": "green", "unchanged": "dim", "inconclusive": "yellow"}


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _ci(s: ScorerComparison) -> str:
    if s.ci_low is None or s.ci_high is None:
        return "-"
    return f"[{s.ci_low:+.3f}, {s.ci_high:+.3f}]"


def _run(label: str, run: RunHeader) -> str:
    commit = f"commit {run.commit[:8]}" if run.commit else "no commit"
    dirty = " + uncommitted changes" if run.dirty else ""
    return f"{label} {run.id} ({run.eval}, {commit}{dirty})"


def headline(cmp: Comparison) -> str:
    """One line: the verdict across scorers."""
    bad = [s for s in cmp.scorers if s.verdict == "regressed"]
    if bad:
        parts = [f"{s.name} {s.delta:+.3f} (95% CI {_ci(s)}, p={_p(s.p_value)})" for s in bad]
        return "REGRESSION: " + "; ".join(parts)
    unsure = [s.name for s in cmp.scorers if s.verdict == "inconclusive"]
    if not unsure:
        return "No regression."
    line = f"No significant regression; inconclusive for {', '.join(unsure)} (differences within noise)."
    regressed = max((s.regressed for s in cmp.scorers if s.verdict == "inconclusive"), default=0)
    if regressed:  # too few items to call it, but items did get worse: say how to gate on them
        line += (f" Still, {plural(regressed, 'item')} regressed; `gate: {{max_regressions: 0}}` in the eval "
                 "fails `gitevals run --baseline` on any.")
    return line


def _verdicts(cmp: Comparison) -> Table:
    table = Table(show_edge=False, header_style="bold")
    for column in ("scorer", "n", "A", "B", "delta", "95% CI", "p", "regressed", "improved", "verdict"):
        table.add_column(column, justify="left" if column in ("scorer", "verdict", "95% CI") else "right")
    for s in cmp.scorers:
        table.add_row(
            escape(s.name),
            str(s.n),
            _num(s.mean_a),
            _num(s.mean_b),
            _num(s.delta, signed=True),
            _ci(s),
            _p(s.p_value),
            str(s.regressed),
            str(s.improved),
            f"[{_COLOURS[s.verdict]}]{s.verdict}[/]",
        )
    return table


def _item_lines(delta: ItemDelta) -> list[str]:
    changed = f" ({delta.item_class.replace('_', ' ')})" if delta.item_class != "unchanged" else ""
    lines = [
        f"[bold]{escape(delta.item_id)}[/]{changed} {escape(delta.scorer)} {delta.value_a:.2f} -> {delta.value_b:.2f}",
        f"    input:    {escape(short(delta.input, 100))}",
    ]
    if delta.expected is not None:
        lines.append(f"    expected: {escape(short(delta.expected, 100))}")
    lines.append(f"    A output: {escape(short(delta.output_a, 100))}")
    lines.append(f"    B output: {escape(short(delta.output_b, 100))}")
    if delta.reason_b:
        lines.append(f"    why:      {escape(short(delta.reason_b, 100))}")
    return lines


def render_comparison(cmp: Comparison, *, all_items: bool = False) -> RenderableType:
    parts: list[RenderableType] = [
        Text(f"{_run('B', cmp.b)}\n  against baseline {_run('A', cmp.a)}"),
    ]
    for warning in cmp.warnings:
        parts.append(Text.from_markup(f"[yellow]warning[/]: {escape(warning.message)}"))
    scope = "all items in both runs" if cmp.include_changed else "items with unchanged input and expected"
    parts += [Text(f"\nStatistics over {scope}; tolerance {cmp.tolerance:g}, alpha {cmp.alpha:g}:"), _verdicts(cmp)]
    for label, ids in (("A", cmp.errors_a), ("B", cmp.errors_b)):
        if ids:
            parts.append(Text(f"target errors in every trial of {label}, left out: {', '.join(ids[:10])}"
                              + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")))
    if cmp.regressions:
        shown = cmp.regressions if all_items else cmp.regressions[:_ITEMS_SHOWN]
        lines = [line for delta in shown for line in _item_lines(delta)]
        if len(shown) < len(cmp.regressions):
            lines.append(f"... and {len(cmp.regressions) - len(shown)} more (--all lists them)")
        parts += [Text("\nRegressed items, worst first", style="bold"), Text.from_markup("\n".join(lines))]
    if cmp.improvements:
        shown = cmp.improvements if all_items else cmp.improvements[:_ITEMS_SHOWN]
        lines = [f"{escape(d.item_id)} {escape(d.scorer)} {d.value_a:.2f} -> {d.value_b:.2f}" for d in shown]
        if len(shown) < len(cmp.improvements):
            lines.append(f"... and {len(cmp.improvements) - len(shown)} more")
        parts += [Text("\nImproved items", style="bold"), Text.from_markup("\n".join(lines))]
    style = "bold red" if cmp.regressed else "bold green"
    parts.append(Text("\n" + headline(cmp), style=style))
    return Group(*parts)


def _md(value: Any, limit: int = 300) -> str:
    text = short(value, limit).replace("|", "\\|").replace("`", "'")
    return f"`{text}`"


def comparison_markdown(cmp: Comparison) -> str:
    """The comparison as markdown for a pull-request comment; long parts folded."""
    lines = [
        f"### gitevals: {'❌ ' if cmp.regressed else '✅ '}{headline(cmp)}",
        "",
        f"**B** `{cmp.b.id}` ({cmp.b.eval}, {(cmp.b.commit or 'no commit')[:8]}) "
        f"against baseline **A** `{cmp.a.id}` ({(cmp.a.commit or 'no commit')[:8]})",
        "",
    ]
    for warning in cmp.warnings:
        lines.append(f"> ⚠️ {warning.message}")
    if cmp.warnings:
        lines.append("")
    lines += [
        "| scorer | n | A | B | delta | 95% CI | p | regressed | improved | verdict |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for s in cmp.scorers:
        verdict = f"**{s.verdict}**" if s.verdict == "regressed" else s.verdict
        lines.append(
            f"| {s.name} | {s.n} | {_num(s.mean_a)} | {_num(s.mean_b)} | {_num(s.delta, True)} | {_ci(s)} "
            f"| {_p(s.p_value)} | {s.regressed} | {s.improved} | {verdict} |"
        )
    if cmp.regressions:
        lines += ["", f"<details><summary>{len(cmp.regressions)} regressed items, worst first</summary>", ""]
        lines += ["| item | scorer | A | B | input | expected | A output | B output |", "|---|---|---:|---:|---|---|---|---|"]
        for d in cmp.regressions[:100]:
            lines.append(
                f"| `{d.item_id}` | {d.scorer} | {d.value_a:.2f} | {d.value_b:.2f} | {_md(d.input)} "
                f"| {_md(d.expected)} | {_md(d.output_a)} | {_md(d.output_b)} |"
            )
        if len(cmp.regressions) > 100:
            lines.append(f"\n... and {len(cmp.regressions) - 100} more")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def comparison_json(cmp: Comparison) -> str:
    return json.dumps(cmp.to_json(), indent=2, ensure_ascii=False, default=str)
