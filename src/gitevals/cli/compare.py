"""`gitevals compare [A] [B]`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._common import EXIT_FAILED, RUN_FORMS, console, get_project

if TYPE_CHECKING:
    from gitevals.compare import Comparison

FORMATS = ("text", "markdown", "json")


def comparison_options(function):  # type: ignore[no-untyped-def]
    """The options `compare` and `run --baseline` share."""
    options = [
        click.option("--include-changed", is_flag=True, help="Use items whose input or expected changed in the statistics too."),
        click.option("--tolerance", type=click.FloatRange(min=0, max=1), default=0.05, show_default=True,
                     help="Score drops smaller than this are not regressions."),
        click.option("--alpha", type=click.FloatRange(min=0, max=1, min_open=True), default=0.05, show_default=True,
                     help="Significance level of the paired test."),
        click.option("--fail-on-regression", is_flag=True, help="Exit 1 when any scorer regressed."),
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
                     help="How to write the comparison: for a terminal, a pull-request comment, or a program."),
        click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the comparison to FILE."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.command(epilog=RUN_FORMS.replace("RUN is", "A and B are each", 1))
@click.argument("runs", nargs=-1, metavar="[A] [B]")
@click.option("--baseline", "baseline_ref", metavar="REF", help="Use as A the newest run of B's eval made at REF or before it.")
@click.option("--eval", "eval_name", metavar="EVAL",
              help="Compare the two newest runs of EVAL (default: the eval of the newest run).")
@click.option("--all", "all_items", is_flag=True, help="List every regressed item, not only the first ten.")
@comparison_options
@click.pass_context
def compare(ctx: click.Context, runs: tuple[str, ...], baseline_ref: str | None, eval_name: str | None,
            all_items: bool, **options: object) -> None:
    """Compare run B with baseline A: did quality drop, and where?

    Lines items up by id, scorer by scorer, with the dataset changes between
    the two runs. With no runs named, the two newest runs of the same eval
    are compared; with one, that run and the newest of its eval.

    \b
    Examples:
      gitevals compare
      gitevals compare latest~1 latest
      gitevals compare --eval support-qa --format markdown -o comment.md
      gitevals compare --baseline main --fail-on-regression
    """
    from gitevals.errors import GitevalsError
    from gitevals.runs import find_baseline, load_run, newest_pair

    project = get_project()
    if len(runs) > 2:
        raise click.UsageError("name at most two runs: A (the baseline) and B")
    if baseline_ref is not None:
        if len(runs) == 2:
            raise click.UsageError("--baseline picks A: name only B")
        run_b = load_run(project, runs[0] if runs else eval_name or "latest")
        run_a = find_baseline(project, run_b.manifest.eval, baseline_ref, exclude=run_b.id)
    elif len(runs) == 2:
        run_a, run_b = load_run(project, runs[0]), load_run(project, runs[1])
    elif len(runs) == 1:
        run_a = load_run(project, runs[0])
        run_b = load_run(project, run_a.manifest.eval)
        if run_b.id == run_a.id:
            raise GitevalsError(f"{run_a.id} is the newest run of {run_a.manifest.eval!r}: nothing newer to compare with",
                                hint="name both runs: gitevals compare A B")
    else:
        run_a, run_b = newest_pair(project, eval_name)
    run_a, run_b = run_a.with_reviews(), run_b.with_reviews()  # human reviews count as the scorer `human`
    fail_on_regression = options.pop("fail_on_regression")
    result = show_comparison(project, run_a, run_b, all_items=all_items, **options)  # type: ignore[arg-type]
    if fail_on_regression and result.regressed:
        ctx.exit(EXIT_FAILED)


def show_comparison(project, run_a, run_b, *, include_changed: bool, tolerance: float,  # type: ignore[no-untyped-def]
                    alpha: float, fmt: str, output: Path | None, all_items: bool = False):
    """Compare, then print the result or write it to `output`; returns the Comparison."""
    from gitevals.compare import compare as compare_runs
    from gitevals.datasets import dataset_commits
    result = compare_runs(
        run_a, run_b, include_changed=include_changed, tolerance=tolerance, alpha=alpha,
        dataset_commits=dataset_commits(project, run_a.manifest, run_b.manifest),
    )
    print_comparison(result, fmt=fmt, output=output, all_items=all_items)
    return result


def print_comparison(result: Comparison, *, fmt: str, output: Path | None, all_items: bool = False) -> None:
    """Print a comparison in format `fmt`, or write it to `output`."""
    from gitevals.report.comparison import comparison_json, comparison_markdown, render_comparison

    if fmt == "text" and output is None:
        console().print(render_comparison(result, all_items=all_items))
    else:
        text = comparison_json(result) if fmt == "json" else comparison_markdown(result)
        if fmt == "text":
            from io import StringIO

            from rich.console import Console

            buffer = StringIO()
            Console(file=buffer, width=120, no_color=True).print(render_comparison(result, all_items=all_items))
            text = buffer.getvalue()
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            click.echo(f"comparison written to {output}")
