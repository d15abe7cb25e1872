"""`gitevals report RUN --html FILE`."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import RUN_FORMS, RunRef, get_project


@click.command(epilog=RUN_FORMS)
@click.argument("run_ref", metavar="RUN", type=RunRef())
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write a self-contained HTML page to FILE.")
@click.option("--baseline", "baseline_ref", metavar="REF",
              help="Compare with the newest run of RUN's eval made at REF or before it.")
@click.option("--include-changed", is_flag=True, help="Use items whose input or expected changed in the statistics too.")
@click.option("--tolerance", type=click.FloatRange(min=0, max=1), default=0.05, show_default=True,
              help="Score drops smaller than this are not regressions.")
@click.option("--alpha", type=click.FloatRange(min=0, max=1, min_open=True), default=0.05, show_default=True,
              help="Significance level of the paired test.")
def report(run_ref: str, html_path: Path | None, baseline_ref: str | None, include_changed: bool,
           tolerance: float, alpha: float) -> None:
    """Write a run as one self-contained HTML page.

    The HTML page holds the summary and gates, score distributions, each
    scorer's mean across the eval's earlier runs in git order, the
    comparison with --baseline, and a filterable table of every item. It
    loads nothing from the network: open it anywhere, attach it to a CI job.

    \b
    Examples:
      gitevals report latest --html report.html
      gitevals report latest --baseline origin/main --html report.html
    """
    if html_path is None:
        raise click.UsageError("choose a format: --html FILE")
    from gitevals.report.html import render_html
    from gitevals.runs import find_baseline, load_run, run_history

    project = get_project()
    run = load_run(project, run_ref).with_reviews()
    comparison = None
    if baseline_ref is not None:
        from gitevals.compare import compare
        from gitevals.datasets import dataset_commits

        baseline = find_baseline(project, run.manifest.eval, baseline_ref, exclude=run.id).with_reviews()
        comparison = compare(baseline, run, include_changed=include_changed, tolerance=tolerance, alpha=alpha,
                             dataset_commits=dataset_commits(project, baseline.manifest, run.manifest))
    page = render_html(run, run_history(project, run.manifest), comparison)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(page, encoding="utf-8")
    click.echo(f"report written to {html_path}")
