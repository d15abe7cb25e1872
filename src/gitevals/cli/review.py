"""`gitevals review RUN`: judge a run's outputs by hand, one at a time."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from gitevals._util.words import plural, trial_label

from ._common import RUN_FORMS, RunRef, get_project

KEYS = "[p]ass  [f]ail  0..1 score  [c]omment  [!] flag  [s]kip  [b]ack  [q]uit"
_SHOWN = 1500  # characters of one field shown before it is cut

if TYPE_CHECKING:
    from gitevals.formats import ResultRecord


@click.command(epilog=RUN_FORMS)
@click.argument("run_ref", metavar="RUN", type=RunRef())
@click.option("--only", type=click.Choice(["unreviewed", "failing", "flagged", "all"]), default="unreviewed",
              show_default=True, help="Which results to visit: not yet judged by a person, failing, flagged, or all.")
@click.option("--reviewer", metavar="NAME", help="Who is reviewing (default: git config user.name, else $USER).")
def review(run_ref: str, only: str, reviewer: str | None) -> None:
    """Judge a run's outputs by hand, one result at a time.

    Shows each result's input, expected output and output, then reads one
    line: `p` pass, `f` fail, a number from 0 to 1 a score, `c` a comment
    (`c TEXT`, or `c` then the text on the next line), `!` flag or unflag it
    for a second look, `s` skip, `b` back, `q` quit. Every decision is
    appended to reviews.jsonl in the run folder at once; run the command
    again to continue where you stopped. Reviews count as the scorer `human`
    in `runs show`, `compare` and `report`.

    \b
    Examples:
      gitevals review latest
      gitevals review 1a2b3c4 --only failing
      printf 'p\\nf\\n' | gitevals review latest
    """
    from gitevals.runs import open_review

    project = get_project()
    session = open_review(project.runs_dir, run_ref, only=only, reviewer=reviewer, project_root=project.root)
    folder = project.relative(session.folder)
    total = len(session.queue)
    if not total:
        click.echo(f"nothing to review in {folder}/ with --only {only}")
        return
    click.echo(f"reviewing {plural(total, 'result')} of {session.manifest.eval} run {session.manifest.id} "
               f"as {session.reviewer or 'unknown'}; decisions go to {folder}/reviews.jsonl")
    if session.skipped_errors:
        click.echo(f"({plural(session.skipped_errors, 'result')} whose target failed left out: there is no output to judge)")
    try:
        _walk(session)
    finally:
        manifest = session.close()
    left = session.remaining()
    click.echo(f"\n{plural(session.written, 'decision')} written; {plural(left, 'result')} not judged yet"
               + (f" (continue with: gitevals review {session.manifest.id})" if left else ""))
    human = manifest.summary.scores.get("human") if manifest.summary else None
    if human is not None and human.mean is not None:
        rate = "-" if human.pass_rate is None else f"{human.pass_rate:.0%}"
        click.echo(f"human: mean {human.mean:.3f}, pass rate {rate}, n {human.n}")


def _walk(session: Any) -> None:
    shown = None
    while session.current is not None:
        record = session.current
        if shown is not record:
            _show(session, record)
            shown = record
        answer = _ask("review")
        if answer is None:  # the end of a pipe, or Ctrl-D
            return
        key = answer.lower()
        if key in ("q", "quit"):
            return
        if key in ("p", "pass", "f", "fail"):
            line = session.decide(verdict="pass" if key.startswith("p") else "fail")
            click.echo(f"  -> {line.verdict}")
            session.advance()
        elif key in ("s", "skip"):
            session.advance()
        elif key in ("b", "back"):
            if not session.back():
                click.echo("  already at the first result")
            shown = None
        elif key == "!":
            earlier = session.review_of(record)
            line = session.decide(flagged=not (earlier is not None and earlier.flagged))
            click.echo("  -> flagged" if line.flagged else "  -> flag removed")
        elif key == "c" or key.startswith("c "):
            text = answer[2:].strip() or _ask("comment")
            if text:
                session.decide(comment=text)
                click.echo("  -> comment saved")
        elif _is_score(key):
            line = session.decide(score=float(key))
            click.echo(f"  -> score {line.score:g}")
            session.advance()
        else:
            click.echo(f"  {_refusal(answer)}; {KEYS}")


def _ask(label: str) -> str | None:
    """One line from the terminal or a pipe; None at its end (Ctrl-D)."""
    try:
        return click.prompt(label, default="", show_default=False, prompt_suffix="> ").strip()
    except (click.Abort, EOFError):
        return None


def _refusal(answer: str) -> str:
    """Why an answer was not taken: a number outside 0..1, or an unknown key."""
    try:
        return f"score {float(answer):g} is outside 0..1"
    except ValueError:
        return f"unknown key {answer!r}" if answer else "nothing typed"


def _is_score(text: str) -> bool:
    try:
        return 0.0 <= float(text) <= 1.0
    except ValueError:
        return False


def _show(session: Any, record: ResultRecord) -> None:
    summary = session.manifest.summary
    trial = trial_label(record.get("trial"), summary.trials if summary else 1)
    head = f"[{session.position + 1}/{len(session.queue)}] {record['item_id']}{trial}"
    click.echo("\n" + click.style(head, bold=True))
    _field("input", record.get("input"))
    if record.get("expected") is not None:
        _field("expected", record.get("expected"))
    _field("output", record.get("output"))
    trajectory = record.get("trajectory")
    if trajectory:
        from gitevals.report.text import trajectory_summary

        click.echo(f"{click.style('trajectory', bold=True)}: {trajectory_summary(trajectory)}")
    scores = {k: v for k, v in (record.get("scores") or {}).items() if k != "human"}
    for name, score in scores.items():
        if score.get("skipped"):
            continue
        value = "error" if score.get("value") is None else f"{score['value']:.2f}"
        mark = "" if score.get("passed") is None else (" pass" if score["passed"] else " FAIL")
        reason = f" — {_one_line(score['reason'], 120)}" if score.get("reason") else ""
        click.echo(f"  {name}: {value}{mark}{reason}")
    earlier = session.review_of(record)
    if earlier is not None:
        parts = [earlier.verdict or (f"score {earlier.score:g}" if earlier.score is not None else "not judged")]
        if earlier.flagged:
            parts.append("flagged")
        if earlier.comment:
            parts.append(f"comment: {_one_line(earlier.comment, 120)}")
        click.echo(f"  reviewed by {earlier.reviewer or 'unknown'}: {'; '.join(parts)}")
    click.echo(click.style(KEYS, dim=True))


def _field(label: str, value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
    if len(text) > _SHOWN:
        text = text[:_SHOWN] + f"... ({len(text) - _SHOWN} more characters)"
    name = click.style(label, bold=True)
    if "\n" in text:
        click.echo(f"{name}:\n" + "\n".join("    " + line for line in text.splitlines()))
    else:
        click.echo(f"{name}: {text}")


def _one_line(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

