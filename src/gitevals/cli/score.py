"""`gitevals score RUN`: apply scorers to a finished run without calling the target."""

from __future__ import annotations

import shlex
from typing import Any

import click

from gitevals._util.interrupts import stop_on_signals
from gitevals._util.words import plural

from ._common import EXIT_FAILED, EXIT_INTERRUPTED, RUN_FORMS, RunRef, console, get_project

_PROGRESS_FROM = 50  # passes shorter than this print no progress lines


@click.command(epilog=RUN_FORMS)
@click.argument("run_ref", metavar="RUN", type=RunRef())
@click.option("--scorer", "scorers", multiple=True, metavar="SPEC",
              help="A scorer to apply (repeatable): a built-in name, module:attr, or a mapping such as "
              "'{type: contains, value: days}'. Default: the eval file's scorers.")
@click.option("--eval", "eval_name", metavar="EVAL", help="Apply this eval file's scorers (default: the run's eval).")
@click.option("--only-missing", is_flag=True, help="Score only outputs that lack a score of the scorer; "
              "finishes an interrupted pass.")
@click.option("--replace", is_flag=True, help="Score outputs that already have a score of the scorer again; "
              "the old scores are kept in each score's history.")
@click.option("--concurrency", type=click.IntRange(min=1), default=8, show_default=True,
              help="Scores computed at once.")
@click.option("--no-fail", is_flag=True, help="Exit 0 whatever the run's gates say after scoring.")
@click.pass_context
def score(ctx: click.Context, run_ref: str, scorers: tuple[str, ...], eval_name: str | None, only_missing: bool,
          replace: bool, concurrency: int, no_fail: bool) -> None:
    """Apply scorers to a run's stored outputs (no target calls).

    Scores are added to the run; a scorer the run already has is refused
    unless --only-missing or --replace. A run found only in git history
    (EVAL@REF) is copied into runs/ and scored there. Scorers are named as
    in `gitevals run` output: `trajectory.<name>` and `steps.<step>.<name>`
    for the grouped forms. The run's gates are checked again, by the rule of
    `gitevals run`: exits 1 when one fails (unless --no-fail), 2 on a usage or
    config error, 130 when interrupted (repeat with --only-missing to finish).

    \b
    Examples:
      gitevals score latest --scorer exact_match
      gitevals score latest --scorer '{type: contains, name: says-days, value: days}'
      gitevals score latest --scorer '{trajectory: [tool_call_accuracy]}'
      gitevals score support-qa@main --only-missing
    """
    import anyio

    from gitevals.engine import ascore_run

    if eval_name is not None and scorers:
        raise click.UsageError("--eval picks the scorers to apply: give it or --scorer, not both")
    project = get_project()
    out = console()
    plans: list[Any] = []
    done = [0]

    def started(plan: Any) -> None:
        plans.append(plan)
        folder = project.relative(plan.path)
        if plan.copied_from:
            out.print(f"copied {plan.copied_from} from git history to {folder}/", markup=False)
        parts = [f"{plural(plan.to_score, 'score')} to compute"]
        if plan.reused:
            parts.append(f"{plan.reused} from an interrupted pass")
        if plan.kept:
            parts.append(f"{plan.kept} kept")
        if plan.replaced:
            parts.append(f"replacing {', '.join(plan.replaced)}")
        out.print(f"{', '.join(plan.scorers)} on {folder}/: {', '.join(parts)}", markup=False)

    def scored(name: str, result: dict[str, Any]) -> None:
        """A line at every tenth of a long pass."""
        done[0] += 1
        total = plans[0].to_score
        if total >= _PROGRESS_FROM and done[0] * 10 // total > (done[0] - 1) * 10 // total:
            click.echo(f"  [{done[0]:>{len(str(total))}}/{total}] scored")

    stop_on_signals()
    try:
        outcome = anyio.run(lambda: ascore_run(
            project, run_ref, list(scorers), eval_name=eval_name, only_missing=only_missing, replace=replace,
            concurrency=concurrency, on_start=started, on_score=scored,
        ))
    except KeyboardInterrupt:
        if plans and replace:
            click.echo("interrupted: the run is unchanged; repeat the command to replace its scores", err=True)
        elif plans:
            again = ["gitevals", "score", run_ref, "--only-missing"]
            again += [arg for spec in scorers for arg in ("--scorer", spec)] or (["--eval", eval_name] if eval_name else [])
            click.echo(f"interrupted: the scores computed so far are kept in {project.relative(plans[0].path)}/"
                       f"scores.jsonl; finish with: {shlex.join(again)}", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    from gitevals.report.rescore import render_scoring

    out.print(render_scoring(outcome, project.relative(outcome.path)))
    gates = outcome.manifest.gates
    if gates:
        from gitevals.report.text import render_gates

        out.print(render_gates(gates))
    if not no_fail and not all(gate.passed for gate in gates):
        ctx.exit(EXIT_FAILED)
