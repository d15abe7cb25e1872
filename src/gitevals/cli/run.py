"""`gitevals run EVAL`."""

from __future__ import annotations

import importlib
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitevals._util.interrupts import stop_on_signals
from gitevals._util.words import plural

from ._common import EXIT_FAILED, EXIT_INTERRUPTED, RUN_FORMS, console, err_console, get_project, is_interactive
from .compare import comparison_options, print_comparison

if TYPE_CHECKING:
    from gitevals.formats import ResultRecord


@click.command(epilog=RUN_FORMS)
@click.argument("eval_name", metavar="EVAL")
@click.option("--concurrency", type=click.IntRange(min=1), help="Items run at once (overrides the eval).")
@click.option("--trials", type=click.IntRange(min=1), help="Runs per item (overrides the eval).")
@click.option("--tag", "tags", multiple=True, help="Run only items with this tag (repeatable).")
@click.option("--resume", "resume_ref", metavar="RUN",
              help="Complete RUN (`latest` is this eval's newest run): run only its missing items.")
@click.option("--force", is_flag=True,
              help="Resume even though the dataset or the eval changed, or the run's process seems alive.")
@click.option("--only-failed", "failed_ref", metavar="RUN", help="Run only the items that failed or errored in RUN.")
@click.option("--reuse", "reuse_ref", metavar="RUN",
              help="Copy RUN's results for items whose content, target and scorers are unchanged; run the rest.")
@click.option("--shard", metavar="I/N", help="Run the I-th of N deterministic slices of the items (join them with `runs merge`).")
@click.option("--baseline", "baseline_ref", metavar="REF",
              help="Then compare with the newest run of this eval made at REF or before it.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write a JUnit XML report to FILE.")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), help="Write a markdown report to FILE.")
@click.option("--no-fail", is_flag=True,
              help="Record and report only: exit 0 whatever the scores, gates and regressions.")
@comparison_options
@click.pass_context
def run(ctx: click.Context, eval_name: str, concurrency: int | None, trials: int | None, tags: tuple[str, ...],
        resume_ref: str | None, force: bool, failed_ref: str | None, reuse_ref: str | None, shard: str | None,
        baseline_ref: str | None, junit: Path | None, markdown: Path | None, no_fail: bool,
        **compare_options: object) -> None:
    """Run an eval and record its results under runs/.

    EVAL is a name in evals/ or the path of an eval file. Exits 1 when a gate
    fails: a threshold of the eval and the errors it allows (allowed_errors),
    or, when it sets no threshold, any item failing (a target or scorer
    error, or a score below its scorer's pass threshold); with
    --baseline, the eval's `gate:` on the comparison replaces the every-item
    rule. Also 1 when every item errors or the run stops at max_errors;
    --no-fail exits 0 on scores and gates. 2 on a config or data error; 130
    when interrupted (finished items are kept: complete the run with --resume).

    \b
    Examples:
      gitevals run support-qa
      gitevals run support-qa --tag billing --trials 3
      gitevals run support-qa --resume latest
      gitevals run support-qa --baseline origin/main --fail-on-regression --markdown report.md
    """
    import anyio

    from gitevals.engine import Baseline, arun_eval, plan_eval
    from gitevals.runs import find_run

    from ._progress import PlainProgress, RichProgress

    if sum(x is not None for x in (resume_ref, failed_ref, reuse_ref)) > 1:
        raise click.UsageError("choose one of --resume, --only-failed and --reuse")
    project = get_project()
    resume = pending = None
    if resume_ref is not None:  # the run's own items and trials, whatever the eval file selects now
        from gitevals.engine import missing_pairs, plan_resume

        # `latest` and `latest~N` in --resume, --only-failed and --reuse count this eval's runs only
        resume = find_run(project.runs_dir, resume_ref, eval_name=project.eval_path(eval_name).stem).path
        plan = plan_resume(project, eval_name, resume, tags=tags, trials=trials, shard=_shard(shard),
                           concurrency=concurrency)
        pending = missing_pairs(plan, resume)
    else:
        plan = plan_eval(project, eval_name, tags=tags, concurrency=concurrency, trials=trials,
                         shard=_shard(shard), only_failed_from=failed_ref)
    baseline = display = None
    if baseline_ref is not None:
        display = {key: compare_options.pop(key) for key in ("fmt", "output")}
        baseline = Baseline(baseline_ref, **compare_options)  # type: ignore[arg-type]
    reuse = None
    if reuse_ref is not None:
        from gitevals.runs import load_run

        reuse = load_run(project, reuse_ref, eval_name=plan.name)
    progress: RichProgress | PlainProgress = (
        RichProgress(console(), 0) if is_interactive() else PlainProgress(click.echo, 0)
    )
    folder_holder: list[str] = []
    failures: list[ResultRecord] = []

    def started(folder, manifest, remaining: int) -> None:  # type: ignore[no-untyped-def]
        # The report's imports (rich) are only needed at the end: load them
        # while the items run, which is mostly waiting. Not earlier: start-up
        # is CPU-bound and a thread importing then would only slow it.
        threading.Thread(target=importlib.import_module, args=("gitevals.report.text",), daemon=True).start()
        folder_holder.append(project.relative(folder))
        progress.set_total(remaining)
        trials_text = f" x {plan.trials} trials" if plan.trials > 1 else ""
        todo = len(plan.dataset.items) * plan.trials
        left = f", {remaining} of {todo} left to run" if remaining != todo else ""
        progress.echo(
            f"{plan.name}: {plural(len(plan.dataset.items), 'item')}{trials_text} from dataset "
            f"{plan.dataset.name}{left}, concurrency {plan.concurrency} -> {folder_holder[0]}/"
        )
        if pending:
            progress.echo(f"  resuming: {_pairs_text(pending, plan.trials)}")

    def finished(result) -> None:  # type: ignore[no-untyped-def]
        progress.update(result)
        if not result.passed and len(failures) < _FAILURES_KEPT:
            failures.append(result.to_record())

    stop_on_signals()
    try:
        with progress:
            outcome = anyio.run(
                # interruptible: SIGINT stops this run alone, so the web UI may cancel it that way
                lambda: arun_eval(project, plan, resume=resume, reuse=reuse, force=force, keep_results=False,
                                  interruptible=True, on_start=started, on_item_complete=finished,
                                  baseline=baseline)
            )
    except KeyboardInterrupt:
        where = folder_holder[0] if folder_holder else "runs/"
        run_id = Path(where).name
        progress.echo(f"interrupted: finished items are kept in {where}/")
        progress.echo(f"complete the run with: gitevals run {plan.name} --resume {run_id}")
        sys.stdout.flush()
        sys.stderr.flush()
        # The run is recorded; nothing left in any thread (a sync target's call
        # abandoned mid-way, a pipe still being read) may delay the exit.
        os._exit(EXIT_INTERRUPTED)
    from gitevals.report.text import render_run_end
    from gitevals.runs import every_item_rule

    console().print(render_run_end(outcome.manifest, failures, folder_holder[0]))
    if progress.tally.to_review:
        waiting = plural(progress.tally.to_review, "result has no scorer and needs", "results have no scorer and need")
        progress.echo(f"{waiting} review: gitevals review {outcome.manifest.id}")
    summary = outcome.manifest.summary
    failed = not (outcome.passed or no_fail) or (summary is not None and summary.completed == 0)
    if outcome.result.stopped:
        err_console().print(f"[red]stopped early[/]: {outcome.result.stopped}; the finished items are kept",
                            highlight=False)
        failed = True
    manifest, check = outcome.manifest, outcome.baseline
    if check is not None and check.missing:
        err_console().print(f"[yellow]no comparison[/]: {check.missing}", highlight=False)
    elif check is not None and check.comparison is not None:
        assert display is not None
        console().print("")
        print_comparison(check.comparison, **display)  # type: ignore[arg-type]
    if not (outcome.passed or no_fail) and every_item_rule(manifest.gates) and summary is not None:
        # the rule a newcomer may not expect: say how to choose another one
        first = next(iter(summary.scores), "SCORER")
        console().print(f"note: {project.relative(plan.path)} sets no thresholds, so every item must pass; "
                        f"add e.g. `thresholds: {{{first}: 0.8}}` to gate on the mean instead, "
                        "or run with --no-fail to record only", markup=False, highlight=False)
    _write_reports(outcome.path, manifest, check.comparison if check else None, junit, markdown)
    if failed:
        ctx.exit(EXIT_FAILED)


def _write_reports(folder: Path, manifest, comparison, junit: Path | None, markdown: Path | None) -> None:  # type: ignore[no-untyped-def]
    """JUnit and markdown files when asked, and the markdown in GitHub's job summary when there is one."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if junit is None and markdown is None and not summary_file:
        return
    from gitevals.report.junit import junit_xml
    from gitevals.report.markdown import run_markdown
    from gitevals.runs import read_results

    records = read_results(folder)
    if junit is not None:
        junit.write_text(junit_xml(manifest, records), encoding="utf-8")
    text = run_markdown(manifest, records, comparison)
    if markdown is not None:
        markdown.write_text(text, encoding="utf-8")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


_FAILURES_KEPT = 200
_PAIRS_SHOWN = 20


def _pairs_text(pairs: list[tuple[str, int]], trials: int) -> str:
    """The item x trial pairs a resumed run runs, the first few by name."""
    names = [item_id if trials == 1 else f"{item_id} (trial {trial})" for item_id, trial in pairs[:_PAIRS_SHOWN]]
    more = f" and {len(pairs) - _PAIRS_SHOWN} more" if len(pairs) > _PAIRS_SHOWN else ""
    return ", ".join(names) + more


def _shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit()) or not 1 <= int(index) <= int(count):
        raise click.BadParameter("write it as I/N with 1 <= I <= N, like 2/4", param_hint="--shard")
    return int(index), int(count)
