"""A run as one self-contained HTML page: header, summary and gates, score
distributions, scores across the eval's history, the comparison with a
baseline, and a filterable table of every item.

Nothing is loaded from anywhere: the CSS, the SVG charts and the few lines of
JavaScript (the item filter) are inline, and a Content-Security-Policy allows
only that inline script and style (by hash), so the page works offline and a
model output that slipped through escaping could not run. Every value that
comes from a run (ids, inputs, outputs, reasons, names) is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Sequence
from html import escape
from typing import Any

from gitevals._util.words import error_counts, gate_parts, plural, trial_label
from gitevals.compare import Comparison
from gitevals.formats import GateResult, ResultRecord, RunManifest
from gitevals.runs import HUMAN, item_status, scorer_names

from .charts import Chart, trend_charts
from .comparison import headline
from .text import trajectory_summary

__all__ = ["render_html"]

_CELL = 4000  # characters of one value shown in a cell
_BINS = 10

_CSS = """
:root{--fg:#1d2330;--muted:#5d6677;--bg:#fff;--panel:#f5f7fa;--line:#d9dee7;--pass:#1a7f37;--fail:#cf222e;
--warn:#9a6700;--accent:#0969da;--bar:#6e9fe6}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ef;--muted:#9aa3b2;--bg:#0f1217;--panel:#171b22;--line:#2b313c;
--pass:#3fb950;--fail:#f85149;--warn:#d29922;--accent:#58a6ff;--bar:#4f7fc4}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:24px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;
color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:32px 0 10px;border-bottom:1px solid var(--line);
padding-bottom:4px}h3{font-size:14px;margin:0 0 6px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dl.meta dt{color:var(--muted)}
dl.meta dd{margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);padding:5px 8px;
text-align:left;vertical-align:top}th{background:var(--panel);font-weight:600}td.num,th.num{text-align:right;
font-variant-numeric:tabular-nums}
pre{margin:0;white-space:pre-wrap;word-break:break-word;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;
max-height:16em;overflow:auto}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;
border:1px solid currentColor}
.pass,.passed,.improved{color:var(--pass)}.fail,.failed,.regressed{color:var(--fail)}
.errored,.inconclusive,.warning,.needs_review{color:var(--warn)}.unchanged,.muted,.skip{color:var(--muted)}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;padding:10px;background:var(--panel);
border:1px solid var(--line);border-radius:6px}figcaption{font-size:12px;color:var(--muted);margin-top:4px}
svg text{fill:var(--muted);font-size:10px}svg .axis{stroke:var(--line)}svg .bar{fill:var(--bar)}
svg .trend{fill:none;stroke:var(--accent);stroke-width:2}svg .point{fill:var(--accent)}
svg .point.current{fill:var(--fail)}
ul.warnings li{color:var(--warn)}.reason{color:var(--muted);font-size:12px}
.filters{display:flex;gap:12px;align-items:center;margin-bottom:8px}
.filters input{flex:1;max-width:420px;padding:5px 8px;border:1px solid var(--line);border-radius:4px;
background:var(--bg);color:var(--fg)}.filters select{padding:5px;background:var(--bg);color:var(--fg)}
tr[hidden]{display:none}
"""

_JS = """
(function () {
  var box = document.getElementById("filter");
  var select = document.getElementById("status");
  var count = document.getElementById("shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#items tbody tr"));
  function wanted(row, status) {
    var state = row.getAttribute("data-status");
    if (status === "all") return true;
    if (status === "failing") return state === "failed" || state === "errored";
    return state === status;
  }
  function apply() {
    var text = box.value.toLowerCase(), status = select.value, shown = 0;
    rows.forEach(function (row) {
      var show = wanted(row, status) && (!text || row.textContent.toLowerCase().indexOf(text) !== -1);
      row.hidden = !show;
      if (show) shown += 1;
    });
    count.textContent = shown + " of " + rows.length + " shown";
  }
  box.addEventListener("input", apply);
  select.addEventListener("change", apply);
  apply();
})();
"""


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _text(value: Any) -> str:
    """A JSON value as text: strings as they are, the rest as indented JSON."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str)
    if len(text) > _CELL:
        text = text[:_CELL] + f"\n… ({len(text) - _CELL} more characters)"
    return text


def _pre(value: Any) -> str:
    return f"<pre>{_e(_text(value))}</pre>"


def render_html(run: Any, history: Sequence[RunManifest], comparison: Comparison | None = None,
                max_items: int = 5000) -> str:
    """The page for `run` (a `runrefs.LoadedRun`, reviews merged in), with the
    eval's `history` (manifests in git order, the run last; see
    `history.run_history`) and the comparison with a baseline when given.
    At most `max_items` rows are listed, failing and errored ones first."""
    manifest: RunManifest = run.manifest
    records = run.records
    body = [
        _header(manifest, run.source),
        _summary(manifest, records),
        _distributions(manifest, records),
        _history(manifest, history),
    ]
    if comparison is not None:
        body.append(_comparison(comparison))
    body.append(_items(records, max_items))
    csp = f"default-src 'none'; style-src {_hash(_CSS)}; script-src {_hash(_JS)}; img-src data:"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>gitevals: {_e(manifest.eval)} {_e(manifest.id)}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + f"\n<script>{_JS}</script>\n</body>\n</html>\n"
    )


def _header(m: RunManifest, source: str) -> str:
    passed = all(g.passed for g in m.gates)
    verdict = ("pass", "gates passed") if passed else ("fail", "a gate failed")
    rows = [("run", m.id), ("status", m.status), ("dataset", m.dataset or "-")]
    if m.git is not None:
        commit = (m.git.commit or "no commit")[:12]
        rows.append(("commit", f"{commit} on {m.git.branch or 'detached HEAD'}"
                     + (f" (uncommitted changes: {', '.join(m.git.dirty_paths)})" if m.git.dirty else "")))
    else:
        rows.append(("commit", "outside git"))
    rows += [("started", m.started_at), ("finished", m.finished_at or "-"), ("source", source),
             ("gitevals", m.versions.gitevals)]
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)
    badge = f'<span class="badge {verdict[0]}">{verdict[1]}</span>' if m.gates else ""
    return (f'<header id="run"><h1>gitevals: {_e(m.eval)} {badge}</h1>'
            f'<dl class="meta">{items}</dl></header>')


def _summary(m: RunManifest, records: Sequence[ResultRecord]) -> str:
    parts = ['<section id="summary"><h2>Summary</h2>']
    s = m.summary
    if s is None:
        parts.append(f"<p>{plural(len(records), 'result')} recorded so far; the run has no summary yet.</p>")
    else:
        trials = s.trials > 1
        head = ["scorer", "mean", "± stderr", "pass rate", "n", "errors", "skipped"]
        head += ["pass@k", "pass^k", "trial spread"] if trials else []
        parts.append('<table class="scores"><thead><tr>'
                     + "".join("<th>scorer</th>" if h == "scorer" else f'<th class="num">{_e(h)}</th>' for h in head)
                     + "</tr></thead><tbody>")
        for name, sc in s.scores.items():
            cells = [_num(sc.mean), _num(sc.stderr), "-" if sc.pass_rate is None else f"{sc.pass_rate:.0%}",
                     str(sc.n), str(sc.errors or ""), str(sc.skipped or "")]
            if trials:
                cells += [_num(sc.pass_at_k), _num(sc.pass_all_k), _num(sc.trial_spread)]
            parts.append(f'<tr data-scorer="{_e(name)}"><td>{_e(name)}</td>'
                         + "".join(f'<td class="num">{_e(c)}</td>' for c in cells) + "</tr>")
        parts.append("</tbody></table>")
        line = (plural(s.total_items, "item") + (f" x {s.trials} trials" if trials else "")
                + f": {s.completed} completed, {error_counts(s)}, {s.duration_s:.2f} s")
        if s.usage:
            line += "; usage " + ", ".join(f"{k} {v:g}" for k, v in s.usage.items())
        parts.append(f"<p>{_e(line)}</p>")
    waiting = sum(1 for r in records if item_status(r) == "needs_review")
    if waiting:
        parts.append(f'<p class="needs_review">{plural(waiting, "result needs", "results need")} review: no scorer judged them '
                     f"(<code>gitevals review {_e(m.id)}</code>).</p>")
    parts.append(_gates(m.gates))
    parts.append("</section>")
    return "".join(parts)


def _gates(gates: Sequence[GateResult]) -> str:
    if not gates:
        return ""
    lines = []
    for g in gates:  # the words of the terminal's gate lines
        mark, subject, detail = gate_parts(g.scorer, g.metric, g.threshold, g.actual, g.passed)
        lines.append(f'<li><span class="badge {"pass" if g.passed else "fail"}">{mark}</span> '
                     f"<code>{_e(subject)}</code> {_e(detail)}</li>")
    return f'<div id="gates"><h3>Gates</h3><ul>{"".join(lines)}</ul></div>'


def _distributions(m: RunManifest, records: Sequence[ResultRecord]) -> str:
    names = scorer_names(m, records)
    if not names:
        return '<section id="distributions"><h2>Score distributions</h2><p>No scores.</p></section>'
    figures = []
    for name in names:
        values = [s["value"] for r in records if r.get("error") is None
                  for key, s in (r.get("scores") or {}).items()
                  if key == name and s.get("value") is not None and not s.get("skipped")]
        figures.append(_histogram(name, values))
    return f'<section id="distributions"><h2>Score distributions</h2><div class="charts">{"".join(figures)}</div></section>'


def _histogram(name: str, values: Sequence[float]) -> str:
    """An SVG histogram of scores in [0, 1], ten bins, the last one closed."""
    counts = [0] * _BINS
    for value in values:
        counts[min(_BINS - 1, max(0, int(math.floor(value * _BINS))))] += 1
    width, height, left, bottom, top = 320, 150, 30, 20, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(counts) or 1
    bar_w = plot_w / _BINS
    parts = [f'<svg class="histogram" data-scorer="{_e(name)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(name)} score distribution">',
             f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/>',
             f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>']
    for index, count in enumerate(counts):
        bar_h = plot_h * count / peak
        x = left + index * bar_w
        low, high = index / _BINS, (index + 1) / _BINS
        parts.append(f'<rect class="bar" data-count="{count}" x="{x + 1:.1f}" y="{top + plot_h - bar_h:.1f}" '
                     f'width="{bar_w - 2:.1f}" height="{bar_h:.1f}"><title>{low:.1f}–{high:.1f}: {count}</title></rect>')
    for tick in (0, 0.5, 1):
        parts.append(f'<text x="{left + tick * plot_w:.1f}" y="{height - 6}" text-anchor="middle">{tick:g}</text>')
    parts.append("</svg>")
    mean = f", mean {sum(values) / len(values):.3f}" if values else ""
    return f'<figure class="distribution"><h3>{_e(name)}</h3>{"".join(parts)}<figcaption>{len(values)} scores{mean}</figcaption></figure>'


def _history(m: RunManifest, history: Sequence[RunManifest]) -> str:
    runs = list(history) or [m]
    intro = (f"<p>Mean score of each scorer over the {plural(len(runs), 'run')} of {_e(m.eval)} up to this one, "
             "in git history order (this run last).</p>")
    charts = trend_charts(runs)
    if not charts:
        return f'<section id="history"><h2>History</h2>{intro}<p>No scores.</p></section>'
    drawn = "".join(_line_chart(chart, m.id) for chart in charts)
    return f'<section id="history"><h2>History</h2>{intro}<div class="charts">{drawn}</div></section>'


def _line_chart(chart: Chart, current: str) -> str:
    """An SVG line chart of one scorer's mean per run, y from 0 to 1."""
    name = chart.scorer
    parts = [f'<svg class="trend-chart" data-scorer="{_e(name)}" width="{chart.width}" height="{chart.height}" '
             f'viewBox="0 0 {chart.width} {chart.height}" role="img" aria-label="{_e(name)} mean per run">']
    for y, tick in chart.ticks:
        parts.append(f'<line class="axis" x1="{chart.left}" y1="{y:.1f}" x2="{chart.plot_right}" y2="{y:.1f}"/>'
                     f'<text x="{chart.left - 4}" y="{y + 3:.1f}" text-anchor="end">{tick:g}</text>')
    if len(chart.points) > 1:
        parts.append(f'<polyline class="trend" points="{chart.polyline}"/>')
    for p in chart.points:
        css = "point current" if p.run_id == current else "point"
        parts.append(f'<circle class="{css}" data-run="{_e(p.run_id)}" data-mean="{p.mean:.6f}" cx="{p.x:.1f}" '
                     f'cy="{p.y:.1f}" r="4"><title>{_e(p.run_id)} {_e(p.label)}: {p.mean:.3f}</title></circle>')
    for p, anchor in chart.labels:
        parts.append(f'<text x="{p.x:.1f}" y="{chart.height - 14}" text-anchor="{anchor}">{_e(p.label)}</text>')
    parts.append("</svg>")
    caption = f"{plural(len(chart.points), 'run')} with a score" + ("" if chart.points else " (none yet)")
    return f'<figure class="history"><h3>{_e(name)}</h3>{"".join(parts)}<figcaption>{_e(caption)}</figcaption></figure>'


def _comparison(cmp: Comparison) -> str:
    parts = ['<section id="comparison"><h2>Compared with the baseline</h2>',
             f'<p class="{"regressed" if cmp.regressed else "passed"}"><strong>{_e(headline(cmp))}</strong></p>',
             f"<p>B <code>{_e(cmp.b.id)}</code> ({_e((cmp.b.commit or 'no commit')[:8])}) against baseline "
             f"A <code>{_e(cmp.a.id)}</code> ({_e((cmp.a.commit or 'no commit')[:8])}), from {_e(cmp.a.source)}.</p>"]
    if cmp.warnings:
        parts.append('<ul class="warnings">' + "".join(
            f'<li data-kind="{_e(w.kind)}">{_e(w.message)}</li>' for w in cmp.warnings) + "</ul>")
    scope = "all items in both runs" if cmp.include_changed else "items with unchanged input and expected"
    parts.append(f"<p>Statistics over {scope}; tolerance {cmp.tolerance:g}, alpha {cmp.alpha:g}.</p>")
    head = ["scorer", "n", "A", "B", "delta", "95% CI", "p", "regressed", "improved", "verdict"]
    parts.append('<table class="verdicts"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>")
    for s in cmp.scorers:
        ci = "-" if s.ci_low is None or s.ci_high is None else f"[{s.ci_low:+.3f}, {s.ci_high:+.3f}]"
        p = "-" if s.p_value is None else ("<0.001" if s.p_value < 0.001 else f"{s.p_value:.3f}")
        delta = "-" if s.delta is None else f"{s.delta:+.3f}"
        cells = [str(s.n), _num(s.mean_a), _num(s.mean_b), delta, ci, p, str(s.regressed), str(s.improved)]
        parts.append(f'<tr data-scorer="{_e(s.name)}"><td>{_e(s.name)}</td>'
                     + "".join(f'<td class="num">{_e(c)}</td>' for c in cells)
                     + f'<td class="{_e(s.verdict)}">{_e(s.verdict)}</td></tr>')
    parts.append("</tbody></table>")
    if cmp.regressions:
        parts.append(f"<h3>{len(cmp.regressions)} regressed items, worst first</h3>")
        parts.append('<table class="regressions"><thead><tr><th>item</th><th>scorer</th><th>A</th><th>B</th>'
                     "<th>input</th><th>expected</th><th>A output</th><th>B output</th><th>why</th></tr></thead><tbody>")
        for d in cmp.regressions[:500]:
            changed = "" if d.item_class == "unchanged" else f' <span class="muted">({_e(d.item_class.replace("_", " "))})</span>'
            parts.append(f'<tr data-item="{_e(d.item_id)}"><td>{_e(d.item_id)}{changed}</td><td>{_e(d.scorer)}</td>'
                         f'<td class="num">{d.value_a:.2f}</td><td class="num">{d.value_b:.2f}</td>'
                         f"<td>{_pre(d.input)}</td><td>{_pre(d.expected)}</td><td>{_pre(d.output_a)}</td>"
                         f"<td>{_pre(d.output_b)}</td><td>{_e(d.reason_b or '')}</td></tr>")
        parts.append("</tbody></table>")
    if cmp.improvements:
        shown = ", ".join(f"{d.item_id} ({d.scorer} {d.value_a:.2f} → {d.value_b:.2f})" for d in cmp.improvements[:50])
        more = f" and {len(cmp.improvements) - 50} more" if len(cmp.improvements) > 50 else ""
        parts.append(f'<h3>{len(cmp.improvements)} improved items</h3><p class="improved">{_e(shown + more)}</p>')
    parts.append("</section>")
    return "".join(parts)


def _items(records: Sequence[ResultRecord], limit: int) -> str:
    ordered = sorted(records, key=lambda r: (str(r["item_id"]), r.get("trial", 0)))
    statuses = [item_status(r) for r in ordered]
    rows = list(zip(ordered, statuses, strict=True))
    left_out = 0
    if len(rows) > limit:
        bad = [row for row in rows if row[1] != "passed"]
        good = [row for row in rows if row[1] == "passed"]
        kept = (bad + good)[:limit]
        left_out = len(rows) - len(kept)
        keep = {id(row[0]) for row in kept}
        rows = [row for row in rows if id(row[0]) in keep]
    counts = {name: statuses.count(name) for name in ("passed", "failed", "errored", "needs_review")}
    options = [("all", f"all ({len(records)})"), ("failing", f"failing ({counts['failed'] + counts['errored']})"),
               ("errored", f"errored ({counts['errored']})"), ("needs_review", f"needs review ({counts['needs_review']})"),
               ("passed", f"passed ({counts['passed']})")]
    parts = ['<section id="items-section"><h2>Items</h2><div class="filters">'
             '<input id="filter" type="search" placeholder="Filter by id, input, output, reason…" aria-label="filter">'
             '<select id="status" aria-label="status">'
             + "".join(f'<option value="{v}">{_e(label)}</option>' for v, label in options)
             + '</select><span id="shown" class="muted"></span></div>']
    if left_out:
        parts.append(f'<p class="muted">{plural(left_out, "passing result is", "passing results are")} left out of this page.</p>')
    parts.append('<table id="items"><thead><tr><th>item</th><th>status</th><th>input</th><th>expected</th>'
                 "<th>output</th><th>scores</th></tr></thead><tbody>")
    trials = 1 + max((r.get("trial") or 0 for r in records), default=0)
    for record, status in rows:
        parts.append(_item_row(record, status, trials))
    parts.append("</tbody></table></section>")
    return "".join(parts)


def _item_row(record: ResultRecord, status: str, trials: int) -> str:
    label = trial_label(record.get("trial"), trials).strip(" ()")  # `trial 2 of 3`: counted from 1
    trial = f'<div class="muted">{_e(label)}</div>' if label else ""
    error = record.get("error")
    if error is not None:
        output = f'<div class="errored">{_e(error.get("type", "error"))}: </div>{_pre(error.get("message", ""))}'
    else:
        output = _pre(record.get("output"))
    trajectory = record.get("trajectory")
    if trajectory:
        output += f'<div class="reason">trajectory: {_e(trajectory_summary(trajectory))}</div>'
    scores = []
    for name, score in (record.get("scores") or {}).items():
        if score.get("skipped"):
            css, value = "skip", "skipped"
        elif score.get("value") is None:
            css, value = "errored", "error"
        else:
            css, value = ("pass" if score.get("passed") else "fail"), f"{score['value']:.2f}"
        reason = score.get("reason") or (score.get("error") or {}).get("message")
        extra = ""
        if name == HUMAN:
            details = score.get("details") or {}
            extra = f" by {details.get('reviewer') or 'unknown'}" + (" (flagged)" if details.get("flagged") else "")
        scores.append(f'<div class="score {css}" data-scorer="{_e(name)}">{_e(name)} {_e(value)}{_e(extra)}</div>'
                      + (f'<div class="reason">{_e(reason)}</div>' if reason else ""))
    return (f'<tr data-status="{status}" data-item="{_e(record["item_id"])}"><td>{_e(record["item_id"])}{trial}</td>'
            f'<td class="{status}">{status.replace("_", " ")}</td><td>{_pre(record.get("input"))}</td>'
            f'<td>{_pre(record.get("expected")) if record.get("expected") is not None else ""}</td>'
            f"<td>{output}</td><td>{''.join(scores)}</td></tr>")
