"""`gitevals runs list | show`."""

from __future__ import annotations

import json
from typing import Any

import click

from gitevals._util.words import plural

from ._common import RUN_FORMS, RunRef, _escape, console, err_console, get_project


@click.group()
def runs() -> None:
    """List, show and merge recorded runs."""


@runs.command("list")
@click.argument("eval_name", metavar="[EVAL]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the manifests as JSON lines.")
@click.pass_context
def list_(ctx: click.Context, eval_name: str | None, as_json: bool) -> None:
    """List runs, oldest first (of one EVAL when given).

    \b
    Example:
      gitevals runs list support-qa
    """
    from gitevals.report.text import render_runs
    from gitevals.runs import scan_runs

    project = get_project()
    found, damaged = scan_runs(project.runs_dir, eval_name)
    out = console()
    for folder, why in damaged:  # never left out in silence
        err_console().print(f"[red]damaged[/] {project.relative(folder)}/: {_escape(why)}", highlight=False)
    if as_json:
        for info in found:
            click.echo(info.manifest.model_dump_json())
        return
    if not found:
        out.print("no runs yet" + (f" of {eval_name}" if eval_name else "") + "; start one with `gitevals run EVAL`")
        return
    out.print(render_runs(found))


@runs.command(epilog=RUN_FORMS)
@click.argument("run_ref", metavar="RUN", type=RunRef())
@click.option("--all", "show_all", is_flag=True, help="List every failing item, not only the first ten.")
@click.option("--json", "as_json", is_flag=True, help="Print run.json and the results as JSON.")
@click.option("--item", "item_id", metavar="ID", help="Show one item's results: output, scores and trajectory tree.")
@click.pass_context
def show(ctx: click.Context, run_ref: str, show_all: bool, as_json: bool, item_id: str | None) -> None:
    """Show a run's summary, gates and failing items.

    \b
    Examples:
      gitevals runs show latest
      gitevals runs show 1a2b3c4 --all
      gitevals runs show support-qa@main
    """
    from gitevals.report.text import render_gates, render_items, render_summary
    from gitevals.runs import apply_reviews, load_run, manifest_with_reviews, process_gone, review_counts

    project = get_project()
    found = load_run(project, run_ref)  # from the working tree, or (EVAL@REF) from git history
    records, reviews = found.records, list(found.reviews)
    if item_id is not None:
        _show_item(found.manifest.id, [r for r in apply_reviews(records, reviews) if r["item_id"] == item_id], item_id)
        return
    if as_json:
        click.echo(json.dumps({"manifest": found.manifest.model_dump(mode="json"), "results": records,
                               "reviews": [r.model_dump(mode="json") for r in reviews]}, indent=2))
        return
    records = apply_reviews(records, reviews)  # human reviews count as the scorer `human`
    m = manifest_with_reviews(found.manifest, records) if reviews else found.manifest
    out = console()
    git = "outside git"
    if m.git is not None:
        git = f"commit {(m.git.commit or 'none')[:12]} on {m.git.branch or 'detached HEAD'}"
        if m.git.dirty:
            git += f" (uncommitted changes: {', '.join(m.git.dirty_paths)})"
    folder = project.root / found.source  # the source is relative, absolute, or `<commit>:<path>` in git history
    gone = folder.is_dir() and process_gone(m)
    out.print(f"[bold]{m.id}[/]  eval [bold]{m.eval}[/]  dataset {m.dataset}  "
              f"status {m.status}{' (process gone)' if gone else ''}")
    out.print(f"started {m.started_at}, {git}")
    where = f"folder {project.relative(folder)}/" if folder.is_dir() else f"read from git history: {found.source}"
    out.print(where, markup=False)
    if m.error:
        out.print(f"[yellow]{m.status}:[/] {_escape(m.error)}")
    if m.status == "running" and folder.is_dir():
        out.print(_process_text(m, gone), markup=False)
    if m.summary is not None:
        out.print(render_summary(m.summary))
    else:
        out.print(f"{plural(len(records), 'result')} recorded so far")
    if m.gates:
        out.print(render_gates(m.gates))
    counts = review_counts(records, reviews)
    if reviews:
        out.print(f"reviewed by hand: {counts['reviewed']} of {plural(counts['reviewable'], 'result')}"
                  + (f", {counts['flagged']} flagged" if counts["flagged"] else ""), markup=False)
    if counts["needs_review"]:
        waiting = counts["needs_review"]
        out.print(f"{plural(waiting, 'result needs', 'results need')} review (no scorer judged them): "
                  f"gitevals review {m.id}", markup=False)
    failing = render_items(records, limit=None if show_all else 10, more_hint="add --all to list them all",
                           trials=m.summary.trials if m.summary else 1)
    if failing.plain:
        out.print("[bold]Failing items[/]")
        out.print(failing)


def _show_item(run_id: str, records: list[Any], item_id: str) -> None:
    """Each trial of one item: its output or error, its scores and its steps as a tree."""
    from gitevals.errors import NotFoundError
    from gitevals.report.text import trajectory_tree

    if not records:
        raise NotFoundError(f"run {run_id} has no result for item {item_id!r}",
                            hint=f"`gitevals runs show {run_id} --all` lists the failing items")
    out = console()
    for record in records:
        out.print(f"[bold]{_escape(item_id)}[/] trial {record.get('trial', 0) + 1}, {record.get('latency_ms', 0):.0f} ms")
        error = record.get("error")
        out.print(f"  error {error['type']}: {error['message']}" if error else f"  output: {record.get('output')!r}",
                  markup=False)
        for name, score in (record.get("scores") or {}).items():
            shown = score["error"]["message"] if score.get("error") else f"{score.get('value')}"
            out.print(f"  {name}: {shown}" + (f" ({score['reason']})" if score.get("reason") else ""), markup=False)
        if record.get("usage"):
            out.print("  usage: " + ", ".join(f"{k} {v:g}" for k, v in record["usage"].items()), markup=False)
        if record.get("trajectory"):
            out.print("  trajectory:", markup=False)
            out.print(trajectory_tree(record["trajectory"], indent="    "), markup=False)


def _process_text(m, gone: bool) -> str:  # type: ignore[no-untyped-def]
    """Who records a `running` run, and what to do when nothing does any more."""
    from gitevals.runs import resume_command

    process = m.process
    if process is None:
        return "run.json does not name the process recording it (an older gitevals wrote it): it may have stopped"
    who = f"process {process.pid} on {process.host}"
    if gone:
        return f"{who} is gone: it ended without finishing the run; complete it with `{resume_command(m)}`"
    return f"recorded by {who}"


@runs.command()
@click.argument("eval_name", metavar="[EVAL]", required=False)
@click.option("--repair", "do_repair", is_flag=True,
              help="Rewrite the summary of a run whose results.jsonl and run.json disagree (the results win).")
@click.pass_context
def check(ctx: click.Context, eval_name: str | None, do_repair: bool) -> None:
    """Verify every run folder (of one EVAL when given), as git fsck does.

    Exits 1 when a damaged folder is left, naming each with what is wrong.

    \b
    Example:
      gitevals runs check --repair
    """
    from gitevals.runs import check_runs, repair

    project = get_project()
    checked, damage = check_runs(project, eval_name)
    left = 0
    for found in damage:
        where = f"{project.relative(found.folder)}/"
        if do_repair and found.repairable:
            done = repair(project, found)
            console().print(f"repaired {where}: {found.reason}; {done}", markup=False)
            continue
        left += 1
        fix = " (repair with --repair)" if found.repairable else ""
        err_console().print(f"[red]damaged[/] {where}: {_escape(found.reason)}{fix}", highlight=False)
    console().print(f"checked {plural(checked, 'run folder')}: "
                    + (f"{plural(left, 'damaged folder')} left" if left else "no damage left"), markup=False)
    if left:
        ctx.exit(1)


@runs.command(epilog=RUN_FORMS)
@click.argument("run_refs", nargs=-1, required=True, metavar="RUN...", type=RunRef())
@click.pass_context
def merge(ctx: click.Context, run_refs: tuple[str, ...]) -> None:
    """Join the shards of one run (`run --shard I/N`) into one run.

    Exits 1 when the merged run fails a threshold of its eval.

    \b
    Example:
      gitevals runs merge $(ls -d runs/nightly/*/)
    """
    from gitevals.report.text import render_gates, render_summary
    from gitevals.runs import merge_runs

    project = get_project()
    folder, manifest = merge_runs(project, run_refs)
    out = console()
    out.print(f"merged {plural(len(run_refs), 'shard')} into {project.relative(folder)}/", markup=False)
    if manifest.summary is not None:
        out.print(render_summary(manifest.summary))
    if manifest.gates:
        out.print(render_gates(manifest.gates))
    if not all(gate.passed for gate in manifest.gates):
        ctx.exit(1)
