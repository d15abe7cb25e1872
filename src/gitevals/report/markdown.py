"""A run as markdown for a pull request or a CI job summary: long parts folded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gitevals._util.words import error_counts, gate_parts, plural, trial_label
from gitevals.compare import Comparison
from gitevals.formats import ResultRecord, RunManifest, record_passed, score_passed

from .comparison import comparison_markdown
from .text import short

__all__ = ["run_markdown"]


def _cell(value: Any, limit: int = 200) -> str:
    return "`" + short(value, limit).replace("|", "\\|").replace("`", "'") + "`"


def run_markdown(manifest: RunManifest, records: Sequence[ResultRecord], comparison: Comparison | None = None) -> str:
    """Summary, gates, the comparison with the baseline, and the failing items."""
    passed = all(g.passed for g in manifest.gates)
    commit = (manifest.git.commit or "")[:8] if manifest.git else "outside git"
    lines = [f"## {'✅' if passed else '❌'} gitevals: {manifest.eval}", "",
             f"Run `{manifest.id}` at `{commit}`, dataset `{manifest.dataset}`, status {manifest.status}.", ""]
    summary = manifest.summary
    if summary is not None:
        lines += ["| scorer | mean | ± stderr | pass rate | n | errors |", "|---|---:|---:|---:|---:|---:|"]
        for name, s in summary.scores.items():
            mean = "-" if s.mean is None else f"{s.mean:.3f}"
            stderr = "-" if s.stderr is None else f"{s.stderr:.3f}"
            rate = "-" if s.pass_rate is None else f"{s.pass_rate:.0%}"
            lines.append(f"| {name} | {mean} | {stderr} | {rate} | {s.n} | {s.errors or ''} |")
        lines += ["", f"{plural(summary.total_items, 'item')}, {summary.completed} completed, "
                      f"{error_counts(summary)}.", ""]
    if manifest.gates:
        lines += ["**Gates**", ""]
        for gate in manifest.gates:  # the words of the terminal's gate lines
            mark, subject, detail = gate_parts(gate.scorer, gate.metric, gate.threshold, gate.actual, gate.passed)
            lines.append(f"- {'✅' if gate.passed else '❌'} **{mark}** `{subject}` {detail}")
        lines.append("")
    if comparison is not None:
        lines += [comparison_markdown(comparison).replace("### gitevals:", "### Compared with the baseline:", 1), ""]
    failing = sorted((r for r in records if not record_passed(r)), key=lambda r: (str(r["item_id"]), r.get("trial", 0)))
    if failing:
        trials = summary.trials if summary else 1
        noun = "failing item" if trials == 1 else "failing result"  # with trials, one per item x trial
        lines += [f"<details><summary>{plural(len(failing), noun)}</summary>", "",
                  "| item | why | input | output |", "|---|---|---|---|"]
        for record in failing[:200]:
            error = record.get("error")
            if error:
                why = f"error: {error.get('message', '')}"
            else:
                why = "; ".join(f"{n} {s.get('value')}" for n, s in record.get("scores", {}).items()
                                if not score_passed(s))
            item = f"`{record['item_id']}`{trial_label(record.get('trial'), trials)}"
            lines.append(f"| {item} | {_cell(why, 120)} | {_cell(record.get('input'))} | {_cell(record.get('output'))} |")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
