"""`gitevals run EVAL`."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading

import click

from ._common import EXIT_FAILED, EXIT_INTERRUPTED, console, err_console, get_project, is_interactive
from .compare import comparison_options, show_comparison


@click.command()
@click.argument("eval_name", metavar="EVAL")
@click.option("--concurrency", type=click.IntRange(min=1), help="Items run at once (overrides the eval).")
@click.option("--trials", type=click.IntRange(min=1), help="Runs per item (overrides the eval).")
@click.option("--tag", "tags", multiple=True, help="Run only items with this tag (repeatable).")
@click.option("--baseline", "baseline_ref", metavar="REF",
              help="Then compare with the newest run of this eval made at REF or before it.")
@comparison_options
@click.pass_context
def run(ctx: click.Context, eval_name: str, concurrency: int | None, trials: int | None, tags: tuple[str, ...],
        baseline_ref: str | None, **compare_options: object) -> None:
    """Run EVAL (a name in evals/ or a path) and record the results under runs/.

    Exits 1 when a threshold fails, every item errors, or (with
    --fail-on-regression) the comparison with --baseline finds a regression;
    2 on a config or data error; 130 when interrupted.
    """
    import anyio

    from ..evals import arun_eval, plan_eval
    from ._progress import PlainProgress, RichProgress

    project = get_project()
    plan = plan_eval(project, eval_name, tags=tags, concurrency=concurrency, trials=trials)
    total = len(plan.dataset.items) * plan.trials
    if is_interactive():
        progress: RichProgress | PlainProgress = RichProgress(console(), total)
    else:
        progress = PlainProgress(click.echo, total)
    folder_holder: list[str] = []

    def started(folder, manifest) -> None:  # type: ignore[no-untyped-def]
        folder_holder.append(project.relative(folder))
        trials_text = f" x {plan.trials} trials" if plan.trials > 1 else ""
        progress.echo(
            f"{plan.name}: {len(plan.dataset.items)} items{trials_text} from dataset "
            f"{plan.dataset.name}, concurrency {plan.concurrency} -> {folder_holder[0]}/"
        )

    _interrupt_on_signals()
    # The report's imports (rich) are only needed at the end: load them while
    # the items run, which is mostly waiting.
    threading.Thread(target=importlib.import_module, args=("gitevals.report.text",), daemon=True).start()
    try:
        with progress:
            outcome = anyio.run(
                lambda: arun_eval(project, plan, on_start=started, on_item_complete=progress.update)
            )
    except KeyboardInterrupt:
        where = folder_holder[0] if folder_holder else "runs/"
        progress.echo(f"interrupted: finished items are kept in {where}/")
        sys.stdout.flush()
        sys.stderr.flush()
        # A sync target abandoned mid-call still holds a worker thread that the
        # interpreter would wait for at exit; the run is recorded, so leave now.
        os._exit(EXIT_INTERRUPTED)
    from ..report.text import render_run_end

    failures = [r.to_record() for r in outcome.result.items if not r.passed]
    console().print(render_run_end(outcome.manifest, failures, folder_holder[0]))
    summary = outcome.manifest.summary
    failed = not outcome.passed or (summary is not None and summary.completed == 0)
    if baseline_ref is not None:
        failed = _compare_with_baseline(project, outcome, baseline_ref, compare_options) or failed
    if failed:
        ctx.exit(EXIT_FAILED)


def _compare_with_baseline(project, outcome, ref: str, options: dict) -> bool:  # type: ignore[no-untyped-def]
    """Compare the new run with its baseline; True when that fails the run."""
    from ..errors import NotFoundError
    from ..results import read_results
    from ..runrefs import LoadedRun, find_baseline

    try:
        baseline = find_baseline(project, outcome.manifest.eval, ref, exclude=outcome.manifest.id)
    except NotFoundError as exc:
        err_console().print(f"[yellow]no comparison[/]: {exc}", highlight=False)
        return False
    this_run = LoadedRun(outcome.manifest, read_results(outcome.path), project.relative(outcome.path))
    console().print("")
    options = dict(options)
    fail_on_regression = options.pop("fail_on_regression")
    result = show_comparison(project, baseline, this_run, **options)
    return bool(fail_on_regression and result.regressed)


def _interrupt_on_signals() -> None:
    """Ctrl-C and SIGTERM both stop the run gracefully, even when the shell that
    started us ignores SIGINT (as it does for background jobs)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
