"""Terminal rendering with rich. Returns renderables; printing is the CLI's job."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from gitevals._util.words import error_counts, gate_parts, plural
from gitevals.formats import GateResult, ResultRecord, RunManifest, Summary, record_passed, score_passed

__all__ = [
    "render_gates", "render_items", "render_run_end", "render_runs", "render_summary", "short",
    "trajectory_summary", "trajectory_tree",
]

_FAILURES_SHOWN = 10


def short(value: Any, limit: int = 60) -> str:
    """One line of at most `limit` characters for any JSON value."""
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def trajectory_summary(steps: list[dict[str, Any]], shown: int = 8) -> str:
    """`3 steps: lookup_order -> validate (error) -> reply`: names in order, nested steps flattened."""
    flat: list[dict[str, Any]] = []

    def walk(entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            flat.append(entry)
            walk(entry.get("children") or [])

    walk(steps)
    names = [str(s.get("name") or s.get("type") or "?") + (" (error)" if s.get("error") else "") for s in flat]
    more = f" -> ... {len(names) - shown} more" if len(names) > shown else ""
    return f"{plural(len(flat), 'step')}: " + " -> ".join(names[:shown]) + more


def trajectory_tree(steps: list[dict[str, Any]], indent: str = "") -> str:
    """The steps as an indented tree, one per line: kind, name, arguments and
    result, duration, tokens and (for a captured span) its span id."""
    lines: list[str] = []

    def walk(entries: list[dict[str, Any]], depth: int) -> None:
        for step in entries:
            parts = [f"{indent}{'  ' * depth}{step.get('type', 'step')} {step.get('name', '?')}"]
            if step.get("args") is not None:
                parts.append(short(json.dumps(step["args"], ensure_ascii=False, default=str), 60))
            if step.get("error"):
                parts.append(f"error: {short(str(step['error']), 60)}")
            elif step.get("result") is not None:
                parts.append("-> " + short(json.dumps(step["result"], ensure_ascii=False, default=str), 60))
            if step.get("duration_ms") is not None:
                parts.append(f"{step['duration_ms']:.1f} ms")
            tokens = step.get("tokens") or {}
            if tokens:
                parts.append(f"{tokens.get('input', 0)} in / {tokens.get('output', 0)} out tokens")
            if step.get("span_id"):
                parts.append(f"span {step['span_id']}")
            lines.append("  ".join(parts))
            walk(step.get("children") or [], depth + 1)

    walk(steps, 0)
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render_summary(summary: Summary) -> RenderableType:
    table = Table(title=None, show_edge=False, header_style="bold")
    table.add_column("scorer")
    table.add_column("mean", justify="right")
    table.add_column("± stderr", justify="right")
    table.add_column("pass rate", justify="right")
    table.add_column("n", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("skipped", justify="right")
    k = summary.trials
    if k > 1:  # pass@k: passed in at least one trial; pass^k: in every trial; spread: how much trials disagree
        table.add_column(f"pass@{k}", justify="right")
        table.add_column(f"pass^{k}", justify="right")
        table.add_column("trial spread", justify="right")
    for name, s in summary.scores.items():
        row = [
            escape(name),
            _fmt(s.mean),
            _fmt(s.stderr),
            _percent(s.pass_rate),
            str(s.n),
            str(s.errors) if s.errors else "",
            str(s.skipped) if s.skipped else "",
        ]
        if k > 1:
            row += [_percent(s.pass_at_k), _percent(s.pass_all_k), _fmt(s.trial_spread)]
        table.add_row(*row)
    trials = f" x {summary.trials} trials" if summary.trials > 1 else ""
    line = (
        f"{plural(summary.total_items, 'item')}{trials}: {summary.completed} completed, "
        f"{error_counts(summary)}, {summary.duration_s:.2f} s"
    )
    parts: list[RenderableType] = [Text(line)]
    if summary.scores:
        parts.insert(0, table)
    return Group(*parts)


def render_gates(gates: Sequence[GateResult]) -> RenderableType:
    """One line per gate, `FAIL  exact_match  mean 0.50, needs >= 0.70`, as `_words.gate_parts` words it."""
    lines = []
    for gate in gates:
        mark, subject, detail = gate_parts(gate.scorer, gate.metric, gate.threshold, gate.actual, gate.passed)
        colour = "green" if gate.passed else "bold red"
        lines.append(f"[{colour}]{mark}[/]  {escape(subject)}  {escape(detail)}")
    return Text.from_markup("\n".join(lines))


def render_items(
    records: Iterable[ResultRecord], limit: int | None = _FAILURES_SHOWN, more_hint: str = "", trials: int = 1
) -> Text:
    """Errored and failing records, by item id, with the scorers that failed and why. With several
    trials, one entry per item: how many of its trials failed, and the first failing trial's reasons."""
    lines = []
    by_item: dict[str, list[ResultRecord]] = {}
    failing = sorted((r for r in records if not record_passed(r)), key=lambda r: (r["item_id"], r.get("trial") or 0))
    for record in failing:
        by_item.setdefault(record["item_id"], []).append(record)
    bad = list(by_item.values())
    for failed in bad[:limit] if limit else bad:
        record = failed[0]
        head = f"[bold]{escape(record['item_id'])}[/]"
        if trials > 1:  # trials counted from 1
            head += f" (failed {len(failed)} of {trials} trials, first: trial {(record.get('trial') or 0) + 1})"
        error = record.get("error")
        if error is not None:
            lines.append(f"{head} [yellow]error[/] {escape(error['type'])}: {escape(short(error['message'], 100))}")
            if error.get("where"):
                lines.append(f"  [dim]at {escape(error['where'])}[/]")
            continue
        for name, score in record.get("scores", {}).items():
            if score_passed(score):
                continue
            if score.get("error"):
                lines.append(f"{head} [yellow]{escape(name)} failed to score[/]: {escape(score['error']['message'])}")
                if score["error"].get("where"):
                    lines.append(f"  [dim]at {escape(score['error']['where'])}[/]")
            else:
                why = f": {escape(short(score['reason'], 100))}" if score.get("reason") else ""
                lines.append(f"{head} [red]{escape(name)} {score['value']:.2f}[/]{why}")
    if limit and len(bad) > limit:
        lines.append(f"... and {len(bad) - limit} more" + (f" ({escape(more_hint)})" if more_hint else ""))
    return Text.from_markup("\n".join(lines))


def render_run_end(manifest: RunManifest, failures: Sequence[ResultRecord], folder: str) -> RenderableType:
    """What `gitevals run` prints at the end: failing items, the summary, the gates."""
    parts: list[RenderableType] = []
    if failures:
        hint = f"all of them: gitevals runs show {manifest.id} --all"
        trials = manifest.summary.trials if manifest.summary else 1
        parts += [Text("Failing items", style="bold"), render_items(failures, more_hint=hint, trials=trials), Text("")]
    if manifest.summary is not None:
        parts.append(render_summary(manifest.summary))
    if manifest.gates:
        parts += [Text(""), render_gates(manifest.gates)]
    parts.append(Text(f"results: {folder}/"))
    return Group(*parts)


def render_runs(runs: Sequence[Any]) -> RenderableType:
    """A table of runs: id, eval, status, items, errors, mean per scorer, commit;
    a `*` after the commit, explained under the table, marks uncommitted changes,
    and a run whose process is gone gets the command that completes it."""
    from gitevals.runs import process_gone, resume_command

    table = Table(show_edge=False, header_style="bold")
    dirty = False
    gone = []
    for column in ("run", "eval", "status", "items", "errors", "scores", "commit"):
        table.add_column(column)
    for info in runs:
        m: RunManifest = info.manifest
        s = m.summary
        scores = ", ".join(f"{escape(k)} {_fmt(v.mean, 2)}" for k, v in (s.scores.items() if s else []))
        commit = "-"
        if m.git is not None and m.git.commit:
            commit = m.git.commit[:8] + ("*" if m.git.dirty else "")
            dirty = dirty or m.git.dirty
        status: str = m.status
        if process_gone(m):
            gone.append(m)
            status += " (process gone)"
        table.add_row(
            m.id,
            escape(m.eval),
            status,
            str(s.total_items) if s else "-",
            str(s.errors) if s else "-",
            scores or "-",
            commit,
        )
    notes: list[RenderableType] = []
    if dirty:
        notes.append(Text("* made with uncommitted changes to what the run depends on "
                          "(`gitevals runs show RUN` lists them)", style="dim"))
    if gone:
        # killed outright (kill -9, a crash): its run.json could not say so
        how = f"`{resume_command(gone[0])}`" if len(gone) == 1 else "`gitevals run EVAL --resume RUN`"
        notes.append(Text(f"process gone: the run's process ended without finishing it; complete it with {how}"))
    return Group(table, *notes) if notes else table
