"""`gitevals runs list | show`."""

from __future__ import annotations

import json

import click

from ._common import console, get_project


@click.group()
def runs() -> None:
    """List and inspect recorded runs."""


@runs.command("list")
@click.argument("eval_name", metavar="[EVAL]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the manifests as JSON lines.")
@click.pass_context
def list_(ctx: click.Context, eval_name: str | None, as_json: bool) -> None:
    """List runs, oldest first (of one EVAL when given)."""
    from ..report.text import render_runs
    from ..results import list_runs

    project = get_project()
    found = list_runs(project.runs_dir, eval_name)
    out = console()
    if as_json:
        for info in found:
            click.echo(info.manifest.model_dump_json())
        return
    if not found:
        out.print("no runs yet" + (f" of {eval_name}" if eval_name else "") + "; start one with `gitevals run EVAL`")
        return
    out.print(render_runs(found))


@runs.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--all", "show_all", is_flag=True, help="List every failing item, not only the first ten.")
@click.option("--json", "as_json", is_flag=True, help="Print run.json and the results as JSON.")
@click.pass_context
def show(ctx: click.Context, run_ref: str, show_all: bool, as_json: bool) -> None:
    """Show RUN: a run id (or its prefix), a run folder, an eval name (its newest run) or `latest`."""
    from ..report.text import render_gates, render_items, render_summary
    from ..results import find_run, read_results
    from ..review import apply_reviews, manifest_with_reviews, read_reviews, review_counts

    project = get_project()
    info = find_run(project.runs_dir, run_ref)
    records = read_results(info.path)
    reviews = read_reviews(info.path)
    if as_json:
        click.echo(json.dumps({"manifest": info.manifest.model_dump(mode="json"), "results": records,
                               "reviews": [r.model_dump(mode="json") for r in reviews]}, indent=2))
        return
    records = apply_reviews(records, reviews)  # human reviews count as the scorer `human`
    m = manifest_with_reviews(info.manifest, records) if reviews else info.manifest
    out = console()
    git = "outside git"
    if m.git is not None:
        git = f"commit {(m.git.commit or 'none')[:12]} on {m.git.branch or 'detached HEAD'}"
        if m.git.dirty:
            git += f" (uncommitted changes: {', '.join(m.git.dirty_paths)})"
    out.print(f"[bold]{m.id}[/]  eval [bold]{m.eval}[/]  dataset {m.dataset}  status {m.status}")
    out.print(f"started {m.started_at}, {git}")
    out.print(f"folder {project.relative(info.path)}/")
    if m.summary is not None:
        out.print(render_summary(m.summary))
    else:
        out.print(f"{len(records)} results recorded so far")
    if m.gates:
        out.print(render_gates(m.gates))
    counts = review_counts(records, reviews)
    if reviews:
        out.print(f"reviewed by hand: {counts['reviewed']} of {counts['reviewable']} results"
                  + (f", {counts['flagged']} flagged" if counts["flagged"] else ""), markup=False)
    if counts["needs_review"]:
        waiting = counts["needs_review"]
        out.print(f"{waiting} result{' needs' if waiting == 1 else 's need'} review (no scorer judged them): "
                  f"gitevals review {m.id}", markup=False)
    failing = render_items(records, limit=None if show_all else 10, more_hint="add --all to list them all")
    if failing.plain:
        out.print("[bold]Failing items[/]")
        out.print(failing)


@runs.command()
@click.argument("run_refs", nargs=-1, required=True, metavar="RUN...")
@click.pass_context
def merge(ctx: click.Context, run_refs: tuple[str, ...]) -> None:
    """Join the shards of one run (`gitevals run EVAL --shard I/N`) into one run.

    Exits 1 when the merged run fails a threshold of its eval.
    """
    from ..merging import merge_runs
    from ..report.text import render_gates, render_summary

    project = get_project()
    folder, manifest = merge_runs(project, run_refs)
    out = console()
    out.print(f"merged {len(run_refs)} shards into {project.relative(folder)}/", markup=False)
    if manifest.summary is not None:
        out.print(render_summary(manifest.summary))
    if manifest.gates:
        out.print(render_gates(manifest.gates))
    if not all(gate.passed for gate in manifest.gates):
        ctx.exit(1)
