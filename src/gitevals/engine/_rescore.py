"""Scoring a finished run after the fact: scorers applied to the outputs the
run stored, without calling the target again.

`score_run` applies the scorers given, or the eval file's current ones, to
every item x trial whose target call succeeded. Scores are added, never
overwritten silently: a scorer name the run already has is refused unless
`only_missing` (score only the outputs that lack it) or `replace` (score them
all again; each new score keeps the old one in its `history`).

Crash safety: every new score is appended to `scores.jsonl` in the run folder
as soon as it is computed (one flushed line per item x trial x scorer). At the
end the scores are merged into results.jsonl, which is replaced atomically,
run.json records the pass, and the side file is removed. A pass killed at any
instant leaves results.jsonl as it was; repeating it with `only_missing`
takes the scores already in the side file and never scores an output twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from pydantic import ValidationError

from gitevals._util.clock import utc_now
from gitevals._util.locks import locked
from gitevals._yaml.load import YamlProblem, load_yaml, locate
from gitevals._yaml.validation import read_model
from gitevals.errors import ConfigError, GitevalsError, NotFoundError, Problem, did_you_mean
from gitevals.formats import (
    EvalConfig,
    ResultRecord,
    RunManifest,
    ScorerConfig,
    ScorerSummary,
    ScoringPass,
    recorded_scorer_name,
    recorded_scorers,
    scorer_config_key,
)
from gitevals.project import Project
from gitevals.runs import (
    MANIFEST,
    SCORES,
    Key,
    ScoreFile,
    baseline_gates,
    check_gates,
    find_run,
    read_checked_results,
    read_manifest,
    rewrite_results,
    summarize,
)
from gitevals.scorers import BoundScorer, ScorerInput, resolve_scorer, scoped, scorer_entries

from ._execute import score_one

__all__ = ["ScoreOutcome", "ScoringPlan", "ascore_run", "parse_scorer_spec", "score_run"]



@dataclass(frozen=True)
class ScoringPlan:
    """What a scoring pass is about to do, known before any scorer runs."""

    path: Path
    """The run folder in the working tree that will be written."""
    scorers: list[str]
    """The scorer names applied."""
    to_score: int
    """Scores to compute (item x trial x scorer)."""
    reused: int
    """Scores taken from an interrupted pass instead."""
    kept: int
    """Existing scores left alone (`only_missing`)."""
    target_errors: int
    """Results without output, which get no scores."""
    replaced: list[str]
    """Scorer names whose existing scores will be replaced."""
    copied_from: str | None
    """`<commit>:<path>` when the run was found only in git history and copied to `path`."""


@dataclass(frozen=True)
class ScoreOutcome:
    """A finished scoring pass."""

    plan: ScoringPlan
    manifest: RunManifest
    """run.json as written (unchanged when there was nothing to do)."""
    scoring: ScoringPass
    """The pass, as recorded in `manifest.scoring`."""
    scores: dict[str, ScorerSummary]
    """Per scorer of the pass: its statistics over the whole run."""
    written: bool
    """False when there was nothing to score and nothing was written."""

    @property
    def path(self) -> Path:
        return self.plan.path


def parse_scorer_spec(text: str) -> str | dict[str, Any]:
    """A scorer spec as written on the command line: a name, `module:attr`, or a
    JSON / YAML flow mapping such as `{type: contains, value: x}`."""
    stripped = text.strip()
    if not stripped:
        raise ConfigError("an empty scorer spec", hint="give a built-in name, module:attr or {type: ..., ...}")
    if not stripped.startswith("{"):
        return stripped
    try:
        data = load_yaml(stripped, "--scorer")
    except YamlProblem as exc:
        problem = exc.problem
        raise ConfigError(
            f"scorer {text!r} is not a valid mapping: {problem.message}"
            + (f" (column {problem.col})" if problem.col else ""),
            hint="write it as JSON or a YAML flow mapping, e.g. '{type: contains, value: days}'",
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"scorer {text!r} is not a mapping", hint="e.g. '{type: contains, value: days}'")
    return data


def score_run(project: Project, run_ref: str, scorers: Sequence[Any] | None = None, **options: Any) -> ScoreOutcome:
    """The sync form of `ascore_run`."""
    return anyio.run(lambda: ascore_run(project, run_ref, scorers, **options))


async def ascore_run(
    project: Project,
    run_ref: str,
    scorers: Sequence[Any] | None = None,
    *,
    eval_name: str | None = None,
    only_missing: bool = False,
    replace: bool = False,
    concurrency: int = 8,
    on_start: Callable[[ScoringPlan], None] | None = None,
    on_score: Callable[[str, dict[str, Any]], None] | None = None,
) -> ScoreOutcome:
    """Apply `scorers` to the stored outputs of run `run_ref`, without calling the target.

    `run_ref` names a run as `gitevals runs show` takes it, or `EVAL@REF` for a
    run that may exist only in git history (it is then copied into the working
    tree at the same `runs/<eval>/<id>/` path, and that copy is scored).
    `scorers` are specs as in eval files (a name, `module:attr`, a mapping, or
    a mapping's text) or scorer objects; when None or empty, the scorers of the
    eval file `eval_name` (default: the run's eval) are applied.
    """
    if only_missing and replace:
        raise GitevalsError(
            "--only-missing and --replace cannot be used together",
            hint="--only-missing keeps the scores a run has; --replace scores every output again",
        )
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    project.add_python_path()
    folder, from_git = _locate(project, run_ref)
    manifest = from_git.manifest if from_git is not None else read_manifest(folder)
    _check_finished(manifest, folder)
    bound = _resolve_scorers(project, scorers, eval_name or manifest.eval)
    copied_from = None
    if from_git is not None:
        _plan(manifest, from_git.records, {}, {}, bound, only_missing, replace, folder)  # refuse before writing
        _copy_to_working_tree(folder, from_git.manifest, from_git.records)
        copied_from = from_git.source
    with ScoreFile(folder) as side:
        manifest = read_manifest(folder)  # again, now that the run is locked
        records = read_checked_results(folder, manifest)
        _check_finished(manifest, folder)
        leftover, leftover_specs = side.read()
        work = _plan(manifest, records, leftover, leftover_specs, bound, only_missing, replace, folder)
        if replace and leftover:
            side.clear()
        plan = ScoringPlan(
            folder, [b.name for b in bound], len(work.jobs), len(work.reused), work.kept,
            work.target_errors, work.replaced, copied_from,
        )
        if on_start is not None:
            on_start(plan)
        started_at = utc_now()
        side.write({"pass": {"started_at": started_at, "scorers": {b.name: _spec(b) for b in bound}}})
        scores = dict(work.reused)
        await _score_jobs(project, manifest, records, work.jobs, concurrency, side, scores, on_score)
        return _finish(project, folder, manifest, records, bound, plan, scores, started_at, only_missing,
                       leftover=bool(leftover), side=side)


# --- finding the run and the scorers ------------------------------------------


def _locate(project: Project, ref: str) -> tuple[Path, Any]:
    """The run's folder in the working tree, and the run itself when it exists only in git history."""
    if "@" in ref and not ref.startswith("@"):
        from gitevals.runs import find_baseline

        eval_name, _, git_ref = ref.partition("@")
        run = find_baseline(project, eval_name, git_ref)
        folder = project.runs_dir / run.manifest.eval / run.manifest.id
        return (folder, None) if (folder / MANIFEST).is_file() else (folder, run)
    return find_run(project.runs_dir, ref).path, None


def _check_finished(manifest: RunManifest, folder: Path) -> None:
    if manifest.status == "running":
        raise GitevalsError(
            f"run {manifest.id} is still running (or was killed before it could finish)",
            path=folder,
            hint="score it once it has finished; scoring now could lose the results it is still writing",
        )


def _resolve_scorers(project: Project, specs: Sequence[Any] | None, eval_name: str) -> list[BoundScorer]:
    if specs:
        bound, problems = [], []
        for spec in specs:
            try:
                bound += _given_scorers(project, spec)
            except GitevalsError as exc:
                problems += exc.problems
        if problems:
            raise ConfigError(problems=problems)
    else:
        bound = _eval_scorers(project, eval_name)
    names = [b.name for b in bound]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(
            f"two scorers are named {twice[0]!r}",
            hint="give one of them a different name (`{type: ..., name: other}`) so their scores are kept apart",
        )
    return bound


_GROUPS = {"agent", "workflow", "steps", "trajectory"}


def _given_scorers(project: Project, spec: Any) -> list[BoundScorer]:
    """One scorer, or the scorers of a grouped form as eval files write them
    (`{trajectory: [tool_call_accuracy]}`, `{steps: {price: [json_valid]}}`),
    scoped and named as `gitevals run` names them (`trajectory.tool_call_accuracy`)."""
    parsed = parse_scorer_spec(spec) if isinstance(spec, str) else spec
    if not (isinstance(parsed, Mapping) and "type" not in parsed and set(parsed) & _GROUPS):
        return [_given_scorer(project, parsed, _label(spec))]
    try:
        entries = list(scorer_entries(parsed))
    except (ValueError, AttributeError, TypeError):
        raise ConfigError(
            f"scorer {spec}: not a scorer group",
            hint="write {agent: [...], trajectory: [...]} or {workflow: [...], steps: {STEP: [...]}, trajectory: [...]}",
        ) from None
    return [scoped(_given_scorer(project, inner), scope) for _, inner, scope in entries]


def _label(spec: Any) -> str:
    return spec if isinstance(spec, str) else json.dumps(spec, default=str) if isinstance(spec, Mapping) else repr(spec)


def _given_scorer(project: Project, spec: Any, label: str | None = None) -> BoundScorer:
    """`label` names the spec as it was given, when `spec` is that already parsed."""
    label = _label(spec) if label is None else label
    if isinstance(spec, str):
        spec = parse_scorer_spec(spec)
    try:
        if isinstance(spec, Mapping):
            spec = ScorerConfig.model_validate(spec)
        return resolve_scorer(spec, project.config.scorers)
    except ValidationError as exc:
        from gitevals._yaml.validation import error_messages

        groups = [did_you_mean(str(key), _GROUPS, or_choices=False) for key in spec if "type" not in spec]
        near = next((g for g in groups if g), None)
        generic = ("a scorer mapping needs `type:` (a built-in name, a scorer named in gitevals.yaml, or "
                   "module:attr), its other keys are the scorer's options; or it groups scorers: {trajectory: [...]}")
        raise ConfigError(problems=[
            Problem(f"scorer {label}: {message}", hint=near or (generic if "'type'" in message else hint))
            for message, hint in error_messages(exc, ScorerConfig)
        ]) from None
    except GitevalsError as exc:
        raise ConfigError(
            problems=[Problem(f"scorer {label}: {p.message}", p.path, p.line, p.col, p.hint) for p in exc.problems]
        ) from None
    except TypeError as exc:  # a module:attr that is not callable
        raise ConfigError(f"scorer {label}: {exc}", hint="point module:attr at a scorer function or object") from None


def _eval_scorers(project: Project, name: str) -> list[BoundScorer]:
    """The scorers eval file `name` lists now; every bad one is reported together."""
    try:
        path = project.eval_path(name)
    except NotFoundError as exc:
        raise NotFoundError(
            problems=[Problem(p.message, p.path, p.line, p.col, "name the scorers with --scorer SPEC, or pick "
                              "an eval whose scorers to apply with --eval") for p in exc.problems]
        ) from None
    text, config = read_model(path, EvalConfig, ConfigError)
    entries = list(scorer_entries(config.scorers))
    if not entries:
        raise ConfigError(f"eval {name!r} has no scorers", path=path,
                          hint="name the scorers with --scorer SPEC, or list them under `scorers:`")
    bound, problems = [], []
    for where, spec, scope in entries:
        try:
            bound.append(scoped(resolve_scorer(spec, project.config.scorers), scope))
        except GitevalsError as exc:
            for p in exc.problems:
                line, col = (p.line, p.col) if p.path else locate(text, ("scorers", *where, *p.at))
                problems.append(Problem(p.message, p.path or path, line, col, p.hint))
    if problems:
        raise ConfigError(problems=problems)
    return bound


def _spec(scorer: BoundScorer) -> Any:
    """How a scorer is recorded in run.json's `config.scorers` (as `gitevals run` does)."""
    return scorer.spec if scorer.spec is not None else scorer.name


# --- deciding what to score ----------------------------------------------------


@dataclass
class _Work:
    jobs: list[tuple[int, BoundScorer]] = field(default_factory=list)
    reused: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    kept: int = 0
    target_errors: int = 0
    replaced: list[str] = field(default_factory=list)


def _plan(
    manifest: RunManifest,
    records: list[ResultRecord],
    leftover: dict[Key, dict[str, Any]],
    leftover_specs: dict[str, Any],
    bound: list[BoundScorer],
    only_missing: bool,
    replace: bool,
    folder: Path,
) -> _Work:
    """Which outputs each scorer scores; refuses anything that would overwrite or mix scores."""
    names = [b.name for b in bound]
    in_run = {name for record in records for name in (record.get("scores") or {})}
    side = folder / SCORES
    unfinished = sorted({key[2] for key in leftover} - set(names))
    if unfinished:
        specs = " ".join(f"--scorer '{_spec_text(leftover_specs.get(n, n))}'" for n in unfinished)
        raise GitevalsError(
            f"an interrupted scoring pass left scores for {_names(unfinished)}",
            path=side,
            hint=f"finish it first: gitevals score {manifest.id} --only-missing {specs} "
            f"(or delete {SCORES} to drop them)",
        )
    if not (only_missing or replace):
        present = [n for n in names if n in in_run]
        if present:
            raise GitevalsError(
                f"run {manifest.id} already has scores for {_names(present)}",
                hint="add --only-missing to score only the outputs that lack them, or --replace to score "
                "every output again (the old scores are kept in each score's history)",
            )
        if leftover:
            raise GitevalsError(
                f"an interrupted scoring pass left scores for {_names(sorted({k[2] for k in leftover}))}",
                path=side,
                hint="add --only-missing to finish it (its scores are kept), or --replace to start again",
            )
    if only_missing:
        recorded = recorded_scorers(manifest.config)
        for scorer in bound:
            for earlier, where in ((recorded, "in this run"), (leftover_specs, f"in {SCORES}")):
                if scorer.name in earlier and scorer_config_key(earlier[scorer.name]) != scorer_config_key(_spec(scorer)):
                    raise GitevalsError(
                        f"scorer {scorer.name!r} is configured differently {where}: "
                        f"{_spec_text(earlier[scorer.name])}, not {_spec_text(_spec(scorer))}",
                        hint="--only-missing would mix scores made two ways under one name: use the same "
                        "spec, give the new scorer another `name:`, or use --replace",
                    )
    work = _Work(replaced=[n for n in names if replace and n in in_run])
    for index, record in enumerate(records):
        if record.get("error") is not None:
            work.target_errors += 1
            continue
        have = record.get("scores") or {}
        for scorer in bound:
            if only_missing and scorer.name in have:
                work.kept += 1
                continue
            found = leftover.get((record["item_id"], record.get("trial", 0), scorer.name)) if only_missing else None
            if found is not None:
                work.reused[(index, scorer.name)] = found
            else:
                work.jobs.append((index, scorer))
    return work


def _spec_text(spec: Any) -> str:
    return json.dumps(spec, ensure_ascii=False) if isinstance(spec, Mapping) else str(spec)


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


# --- scoring -------------------------------------------------------------------


async def _score_jobs(
    project: Project,
    manifest: RunManifest,
    records: list[ResultRecord],
    jobs: list[tuple[int, BoundScorer]],
    concurrency: int,
    side: ScoreFile,
    scores: dict[tuple[int, str], dict[str, Any]],
    on_score: Callable[[str, dict[str, Any]], None] | None,
) -> None:
    if not jobs:
        return
    items = _dataset_items(project, manifest)
    options = manifest.config.get("target_options") or {}
    samples = {index: _sample(records[index], items, options) for index, _ in jobs}
    pending = iter(jobs)

    async def worker() -> None:
        for index, scorer in pending:
            score = await score_one(scorer, samples[index])
            score["added_at"] = utc_now()
            record = records[index]
            side.write({"item_id": record["item_id"], "trial": record.get("trial", 0), "scorer": scorer.name,
                        "score": score})
            scores[(index, scorer.name)] = score
            if on_score is not None:
                on_score(scorer.name, score)

    async with anyio.create_task_group() as group:
        for _ in range(min(concurrency, len(jobs))):
            group.start_soon(worker)


def _dataset_items(project: Project, manifest: RunManifest) -> dict[str, Any]:
    """The dataset's items by id, for what results.jsonl does not store (the expected
    trajectory, per-item start options); empty when the file cannot be read."""
    from gitevals.datasets import load_dataset

    if not manifest.dataset:
        return {}
    try:
        dataset = load_dataset(project.dataset_path(manifest.dataset), manifest.dataset)
    except GitevalsError:
        return {}
    return {item.id: item for item in dataset.items}


def _sample(record: ResultRecord, items: dict[str, Any], options: Mapping[str, Any]) -> ScorerInput:
    item = items.get(record["item_id"])
    if item is not None and item.hash != record.get("hash"):
        item = None  # a later edit, not the item as it was run
    if item is not None and item.start_options:
        options = {**options, **item.start_options}
    return ScorerInput(
        input=record.get("input"),
        output=record.get("output"),
        expected=record.get("expected"),
        context=record.get("context") or {},
        trajectory=record.get("trajectory"),
        expected_trajectory=item.expected_trajectory if item is not None else None,
        target_options=options,
        item_id=record["item_id"],
    )


# --- writing -------------------------------------------------------------------


def _finish(
    project: Project,
    folder: Path,
    manifest: RunManifest,
    records: list[ResultRecord],
    bound: list[BoundScorer],
    plan: ScoringPlan,
    scores: dict[tuple[int, str], dict[str, Any]],
    started_at: str,
    only_missing: bool,
    *,
    leftover: bool,
    side: ScoreFile,
) -> ScoreOutcome:
    """Merge the new scores into results.jsonl, then record the pass in run.json."""
    now = utc_now()
    user = _user(project)
    recorded = recorded_scorers(manifest.config)
    for (index, name), score in scores.items():
        record_scores = records[index].setdefault("scores", {})
        old = record_scores.get(name)
        if old is not None:  # --replace: the old score goes into the new one's history
            revision = {k: v for k, v in old.items() if k != "history"}
            revision.update(scorer=recorded.get(name), replaced_at=now, replaced_by=user)
            score = {**score, "history": [*old.get("history", []), revision]}
        record_scores[name] = score
    config = dict(manifest.config)
    config["scorers"] = _merged_specs(config.get("scorers", []), bound)
    summary = summarize(
        records,
        scorer_names=[*(manifest.summary.scores if manifest.summary else []), *plan.scorers],
        total_items=manifest.summary.total_items if manifest.summary else len({r["item_id"] for r in records}),
        trials=manifest.summary.trials if manifest.summary else int(manifest.config.get("trials") or 1),
        duration_s=manifest.summary.duration_s if manifest.summary else 0.0,
    )
    scoring = ScoringPass(
        started_at=started_at,
        finished_at=now,
        user=user,
        scorers=[_spec(b) for b in bound],
        only_missing=only_missing,
        scored=len(scores),
        errors=sum(1 for s in scores.values() if s.get("error") is not None),
        skipped=sum(1 for s in scores.values() if s.get("skipped")),
        reused=plan.reused,
        kept=plan.kept,
        target_errors=plan.target_errors,
        replaced=plan.replaced,
        copied_from=plan.copied_from,
    )
    per_scorer = {name: summary.scores[name] for name in plan.scorers}
    if not scores and not leftover and config == manifest.config and plan.copied_from is None:
        side.remove()
        return ScoreOutcome(plan, manifest, scoring, per_scorer, written=False)
    with locked(folder / MANIFEST):  # the results and the manifest change together, one pass at a time
        manifest = _rescored(folder, manifest, records, config, scoring, summary)
    side.remove()
    return ScoreOutcome(plan, manifest, scoring, per_scorer, written=True)


def _rescored(folder: Path, manifest: RunManifest, records: list[ResultRecord], config: dict[str, Any],
              scoring: ScoringPass, summary: Any) -> RunManifest:
    """Write the scored results and the manifest that sums them up, both or
    neither; returns the manifest."""
    update: dict[str, Any] = {"config": config, "scoring": [*manifest.scoring, scoring]}
    if manifest.summary is not None:  # an interrupted run has none until it is finished
        update["summary"] = summary
        update["gates"] = check_gates(summary, config, baseline_gates(manifest.gates))
    manifest = manifest.model_copy(update=update)
    rewrite_results(folder, records, manifest)
    return manifest


def _merged_specs(specs: list[Any], bound: list[BoundScorer]) -> list[Any]:
    """The run's scorer specs with the pass's added, or put in place of the ones they replace."""
    merged = list(specs)
    for scorer in bound:
        spec = _spec(scorer)
        if spec in merged:
            continue
        at = next((i for i, s in enumerate(merged) if recorded_scorer_name(s) == scorer.name), None)
        if at is None:
            merged.append(spec)
        else:
            merged[at] = spec
    return merged


def _copy_to_working_tree(folder: Path, manifest: RunManifest, records: list[ResultRecord]) -> None:
    """Write a run read from git history to its folder (run.json is renamed into
    place last, so that a folder with a manifest always has its results)."""
    folder.mkdir(parents=True, exist_ok=True)
    rewrite_results(folder, records, manifest)


def _user(project: Project) -> str | None:
    from gitevals.git import user_name

    return user_name(project.root) or os.environ.get("USER") or os.environ.get("USERNAME") or None


