"""Eval files: from `evals/<name>.yaml` to a recorded run folder.

`plan_eval` reads the eval, its dataset, target and scorers and reports every
problem at once, before anything runs. `arun_eval` runs the plan and records
it under `runs/<eval>/<run-id>/`.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from gitevals._util.clock import utc_now
from gitevals._util.retry import RateLimiter, parse_rate
from gitevals._version import __version__
from gitevals._yaml.load import locate
from gitevals._yaml.validation import read_model_partly
from gitevals.datasets import Dataset, load_dataset
from gitevals.errors import ConfigError, DataError, GitevalsError, Problem, did_you_mean
from gitevals.formats import EvalConfig, GateResult, RunManifest, RunProcess, Versions, error_limit, record_passed
from gitevals.git import git_info
from gitevals.project import Project
from gitevals.runs import (
    LoadedRun,
    RunWriter,
    check_gates,
    check_ref,
    current_process,
    load_run,
    new_run_id,
    read_checked_results,
    read_manifest,
    read_results,
    resume_command,
    run_liveness,
    summarize,
    update_manifest,
)
from gitevals.scorers import BoundScorer, resolve_scorer, scoped, scorer_entries
from gitevals.targets import CommandTarget, PythonTarget, Target, resolve_target

from ._execute import (
    CallPolicy,
    EvalResult,
    ItemResult,
    capture_mode,
    execute,
    gitevals_error_in,
    receiving,
    refuse_dropped_mocks,
)

__all__ = ["EvalPlan", "RunOutcome", "arun_eval", "missing_pairs", "plan_eval", "plan_resume", "run_eval"]

if TYPE_CHECKING:
    from ._baseline import Baseline, BaselineCheck


@dataclass(frozen=True)
class EvalPlan:
    """Everything a run needs, resolved and checked."""

    name: str
    path: Path
    config: EvalConfig
    dataset: Dataset
    """The items to run (after the tag filter)."""
    full_dataset: Dataset
    """The whole dataset file, whose version the run records."""
    target: Target
    scorers: list[BoundScorer]
    concurrency: int
    trials: int
    policy: CallPolicy
    max_errors: int | float | str | None
    tags: list[str]
    shard: str | None = None
    only_failed_from: str | None = None

    def error_limit(self, calls: int) -> int | None:
        """`max_errors` as a count, for a run of `calls` target calls."""
        return error_limit(self.max_errors, calls)


@dataclass(frozen=True)
class RunOutcome:
    """A finished run: where it is written, its manifest and its results."""

    path: Path
    manifest: RunManifest
    result: EvalResult
    baseline: BaselineCheck | None = None
    """The comparison with the baseline, when one was asked for; its gates are in the manifest's."""

    @property
    def gates(self) -> list[GateResult]:
        return self.manifest.gates

    @property
    def passed(self) -> bool:
        return all(gate.passed for gate in self.manifest.gates)


def plan_eval(
    project: Project,
    name: str,
    *,
    tags: Sequence[str] | None = None,
    concurrency: int | None = None,
    trials: int | None = None,
    shard: tuple[int, int] | None = None,
    only_ids: Sequence[str] | None = None,
    only_failed_from: str | None = None,
) -> EvalPlan:
    """Read eval `name` and everything it refers to; all problems are raised together.

    `shard` (I, N) keeps the I-th of N deterministic slices of the items;
    `only_ids` keeps only those items; `only_failed_from` (a run reference)
    keeps the items that failed or errored in that run of this eval.
    """
    path = project.eval_path(name)
    if only_failed_from is not None:
        only_ids, only_failed_from = _failed_ids(project, only_failed_from, path.stem)
    # A wrong key that the rest can do without is reported together with what
    # checking the rest finds (an unknown dataset, a misspelt scorer), not alone.
    text, config, problems, dropped = read_model_partly(path, EvalConfig, ConfigError)
    project.add_python_path()

    def collect(loc: tuple[Any, ...], action: Callable[[], Any]) -> Any:
        try:
            return action()
        except DataError as exc:
            problems.extend(exc.problems)
        except GitevalsError as exc:
            for p in exc.problems:
                # about what a scalar names (a target, a dataset): point at the value, not the key
                line, col = (p.line, p.col) if p.path else locate(text, (*loc, *p.at), value=not p.at)
                problems.append(Problem(p.message, p.path or path, line, col, p.hint))
        return None

    dataset = collect(("dataset",), lambda: load_dataset(project.dataset_path(config.dataset), config.dataset))
    target = collect(
        ("target",),
        lambda: resolve_target(
            config.target, named=project.config.targets, root=project.root, options=config.target_options
        ),
    )
    scorers = [
        collect(("scorers", *where), lambda spec=spec, scope=scope: scoped(resolve_scorer(spec, project.config.scorers), scope))  # type: ignore[misc]
        for where, spec, scope in scorer_entries(config.scorers)
        if spec is not None  # an entry the file's check refused, and reported already
    ]
    scorers = [s for s in scorers if s is not None]
    if "scorers" not in dropped:  # thresholds are checked against the scorers only when those could be read
        problems += _name_problems(scorers, config, path, text)
    limiter = collect(("rate_limit",), lambda: _rate_limiter(config.rate_limit))
    collect(("max_errors",), lambda: error_limit(config.max_errors, 1))
    collect(("allowed_errors",), lambda: error_limit(config.allowed_errors, 1, "allowed_errors"))
    capture = collect(("trace",), lambda: capture_mode(config.trace, target, scorers) if target is not None else None)
    if problems:  # the eval file's first, in the order of its lines
        raise ConfigError(problems=sorted(problems, key=lambda p: (p.path != path, str(p.path), p.line or 0, p.col or 0)))
    assert dataset is not None and target is not None
    chosen_tags = list(tags) if tags else list(config.tags)
    selected = dataset.with_tags(chosen_tags)
    if only_ids is not None:
        wanted = set(only_ids)
        selected = replace(selected, items=tuple(i for i in selected.items if i.id in wanted))
    if shard is not None:
        selected = replace(selected, items=tuple(i for i in selected.items if in_shard(i.id, *shard)))
    if not selected.items and (shard is not None or only_ids is not None):
        raise ConfigError("no items to run: " + ("this shard is empty" if shard else "nothing failed in that run"))
    if not selected.items:
        raise ConfigError(
            f"no items to run: dataset {config.dataset!r} has no items"
            + (f" tagged {', '.join(chosen_tags)}" if chosen_tags else ""),
            path=path,
            hint=did_you_mean(chosen_tags[0], dataset.all_tags()) if chosen_tags
            else f"add items to {project.relative(dataset.path) if dataset.path else 'the dataset'}",
        )
    refuse_dropped_mocks(target, selected.items, where=lambda: _target_place(path, text))
    defaults = project.config.defaults
    return EvalPlan(
        name=path.stem,
        path=path,
        config=config,
        dataset=selected,
        full_dataset=dataset,
        target=target,
        scorers=scorers,
        concurrency=concurrency or config.concurrency or defaults.concurrency,
        trials=trials or config.trials or defaults.trials,
        policy=CallPolicy(
            timeout_s=config.timeout_s if config.timeout_s is not None else defaults.timeout_s,
            retries=config.retries if config.retries is not None else defaults.retries,
            rate_limiter=limiter,
            capture=capture,
        ),
        max_errors=config.max_errors,
        tags=chosen_tags,
        shard=f"{shard[0]}/{shard[1]}" if shard else None,
        only_failed_from=only_failed_from,
    )


def _target_place(path: Path, text: str) -> dict[str, Any]:
    line, col = locate(text, ("target",), value=True)
    return {"path": path, "line": line, "col": col}


def plan_resume(
    project: Project,
    name: str,
    folder: Path,
    *,
    tags: Sequence[str] | None = None,
    trials: int | None = None,
    shard: tuple[int, int] | None = None,
    concurrency: int | None = None,
) -> EvalPlan:
    """The plan that completes run `folder` of eval `name`: the items that run
    selected (its tags, its shard, the failed items of its `--only-failed` run)
    and its trials, so that the run ends with exactly the pairs it began for.
    `tags`, `trials` or `shard` given must be the run's own."""
    manifest = read_manifest(folder)
    eval_name = project.eval_path(name).stem
    _check_eval(manifest, eval_name)
    own_trials = int(manifest.config.get("trials") or 1)
    own_shard = manifest.shard_slice
    for option, given, own in (("--tag", list(tags or []) or None, manifest.tags), ("--trials", trials, own_trials),
                               ("--shard", shard, own_shard)):
        if given is not None and given != own:
            raise GitevalsError(
                f"run {manifest.id} was made with {option} {_option_text(own)}, not {_option_text(given)}",
                hint=f"leave {option} out: --resume completes the run with its own items and trials",
            )
    return plan_eval(project, name, tags=manifest.tags, concurrency=concurrency, trials=own_trials, shard=own_shard,
                     only_failed_from=manifest.only_failed_from)


def _failed_ids(project: Project, ref: str, eval_name: str) -> tuple[list[str], str]:
    """The ids of the items that failed or errored in run `ref` of the eval, and that run's id."""
    source = load_run(project, ref, eval_name=eval_name)
    return sorted({r["item_id"] for r in source.records if not record_passed(r)}), source.manifest.id


def _check_eval(manifest: RunManifest, eval_name: str) -> None:
    """Raises when the run to resume is of another eval."""
    if manifest.eval != eval_name:
        raise GitevalsError(f"run {manifest.id} is of eval {manifest.eval!r}, not {eval_name!r}",
                            hint=f"resume it with `{resume_command(manifest)}`")


def _option_text(value: Any) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, tuple):
        return "/".join(map(str, value))
    return ", ".join(value) if isinstance(value, list) else str(value)


def missing_pairs(plan: EvalPlan, folder: Path) -> list[tuple[str, int]]:
    """The (item id, trial) pairs of `plan` that run `folder` has no result for:
    what resuming it runs. An item that finished with an error is not missing."""
    done = {(r["item_id"], r["trial"]) for r in read_results(folder)}
    return [(item.id, t) for item in plan.dataset.items for t in range(plan.trials) if (item.id, t) not in done]


def in_shard(item_id: str, index: int, count: int) -> bool:
    """Whether an item belongs to shard `index` (1-based) of `count`: by a hash of
    its id, so the same item always lands in the same shard on every machine."""
    return int(hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:12], 16) % count == index - 1


def _rate_limiter(rate: float | str | None) -> RateLimiter | None:
    if rate is None:
        return None
    try:
        return RateLimiter(parse_rate(rate))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _name_problems(scorers: list[BoundScorer], config: EvalConfig, path: Path, text: str) -> list[Problem]:
    """Duplicate scorer names, and thresholds naming no scorer."""
    problems = []
    names = [s.name for s in scorers]
    places = [where for where, _, _ in scorer_entries(config.scorers)]
    for index, scorer in enumerate(scorers):
        if scorer.name in names[:index]:
            line, col = locate(text, ("scorers", *places[index]))
            problems.append(
                Problem(
                    f"two scorers are named {scorer.name!r}",
                    path,
                    line,
                    col,
                    "give one of them a different `name:` so their scores are kept apart",
                )
            )
    if len(scorers) == len(places):
        for key in config.thresholds:
            if key not in names:
                line, col = locate(text, ("thresholds", key))
                problems.append(
                    Problem(f"threshold for unknown scorer {key!r}", path, line, col, did_you_mean(key, names))
                )
    return problems


def run_eval(project: Project, plan: EvalPlan, **kwargs: Any) -> RunOutcome:
    """The sync form of `arun_eval`."""
    return anyio.run(lambda: arun_eval(project, plan, **kwargs))


async def arun_eval(
    project: Project,
    plan: EvalPlan,
    *,
    resume: Path | None = None,
    reuse: LoadedRun | None = None,
    force: bool = False,
    keep_results: bool = True,
    interruptible: bool = False,
    on_start: Callable[[Path, RunManifest, int], None] | None = None,
    on_item_complete: Callable[[ItemResult], Awaitable[None] | None] | None = None,
    baseline: Baseline | None = None,
) -> RunOutcome:
    """Run `plan`, recording it under the project's runs folder as it goes.

    `resume` (a run folder) completes that run: only its missing item x trial
    pairs run, appended to the same folder; it refuses when the dataset or the
    eval changed since the run began, unless `force`. `reuse` (a
    `runrefs.LoadedRun`) copies that run's results for items whose content and
    whose target and scorer configuration are unchanged, and runs the rest.

    If the run is cancelled or interrupted, the manifest says `interrupted`
    and every finished item is already on disk. `on_start` gets the run
    folder, its manifest and how many item x trial pairs are left to run.

    While it runs, the manifest records this process (`RunProcess`), so that
    readers can tell a run whose process was killed; `interruptible` says
    that SIGINT to this process stops only this run (`gitevals run`), so that
    the web UI may cancel it that way.

    `baseline` compares the finished run with the newest run of the eval at
    that ref; the comparison's gates (the eval's `gate:`) join the manifest's.
    """
    if baseline is not None:  # a ref that names nothing is an error now, not after the whole run
        check_ref(project, baseline.ref)
    process = current_process(interruptible=interruptible)
    if resume is not None:
        writer, done = _reopen(project, plan, resume, force, process)
    else:
        manifest = _start_manifest(project, plan).model_copy(update={"process": process})
        writer, done = RunWriter.create(project.runs_dir, manifest), set()
        if reuse is not None:
            done = _copy_reusable(writer, plan, reuse)
    pairs = [(item, t) for item in plan.dataset.items for t in range(plan.trials) if (item.id, t) not in done]
    if on_start is not None:
        on_start(writer.folder, writer.manifest, len(pairs))

    def record(result: ItemResult) -> Awaitable[None] | None:
        writer.append(result.to_record())
        return on_item_complete(result) if on_item_complete is not None else None

    try:
        with receiving(plan.policy) as policy:
            async with anyio.create_task_group() as group:
                # git is asked in a worker thread while the first items run.
                group.start_soon(_record_git, project, plan, writer)
                result = await execute(
                    plan.dataset.items,
                    plan.target,
                    plan.scorers,
                    target_options=plan.config.target_options,
                    concurrency=plan.concurrency,
                    trials=plan.trials,
                    policy=policy,
                    max_errors=plan.error_limit(len(plan.dataset.items) * plan.trials),
                    pairs=pairs if done else None,
                    on_item_complete=record,
                    keep_results=keep_results,
                )
    except BaseException as exc:
        interrupted = not isinstance(exc, Exception)
        ours = gitevals_error_in(exc)
        _finish(writer, "interrupted" if interrupted else "failed",
                error="interrupted" if interrupted else str(ours) if ours else f"{type(exc).__name__}: {exc}")
        if ours is not None:
            raise ours from None
        raise
    if policy.receiver is not None and policy.receiver.notes():
        writer.manifest = writer.manifest.model_copy(update={"notes": policy.receiver.notes()})
    summary = result.summary
    if done:  # part of the results came from before: sum up the whole folder
        summary = summarize(
            read_results(writer.folder),
            scorer_names=[s.name for s in plan.scorers],
            total_items=len(plan.dataset.items),
            trials=plan.trials,
            duration_s=summary.duration_s,
        )
        result = EvalResult({n: s.mean for n, s in summary.scores.items()}, summary, result.items, result.stopped)
    gates = check_gates(summary, writer.manifest.config)
    _finish(writer, "failed" if result.stopped else "completed", summary=summary, gates=gates, error=result.stopped)
    if baseline is None:
        return RunOutcome(writer.folder, writer.manifest, result)
    from ._baseline import check_baseline  # compare's imports, only when there is a baseline

    this_run = LoadedRun(writer.manifest, read_results(writer.folder), project.relative(writer.folder))
    check = check_baseline(project, this_run, baseline, plan.config.gate)
    manifest = writer.manifest
    if check.gates:  # they replace the every-item gate of an eval without thresholds
        manifest = update_manifest(writer.folder, gates=check_gates(summary, writer.manifest.config, check.gates))
    return RunOutcome(writer.folder, manifest, result, check)


def _finish(writer: RunWriter, status: str, **update: Any) -> None:
    # the process is recorded only while the run runs: once ended, nothing is running it
    writer.manifest = writer.manifest.model_copy(
        update={"status": status, "finished_at": utc_now(), "process": None, **update})
    writer.write_manifest()
    writer.close()


def _fingerprint(config: dict[str, Any]) -> dict[str, Any]:
    """What decides a run's results: the config without how fast it ran."""
    return {k: v for k, v in config.items() if k not in ("concurrency", "description")}


def _reopen(project: Project, plan: EvalPlan, folder: Path, force: bool,
            process: RunProcess) -> tuple[RunWriter, set[tuple[str, int]]]:
    """The writer of an earlier run to complete, and the item x trial pairs it already has."""
    manifest = read_manifest(folder)
    _check_eval(manifest, plan.name)
    if manifest.status == "completed" and not force:
        raise GitevalsError(f"run {manifest.id} is already complete", hint="start a new run instead")
    if manifest.status == "running" and run_liveness(manifest) == "running" and not force:
        # two writers would both run the missing items, and append them twice
        assert manifest.process is not None
        raise GitevalsError(f"run {manifest.id} is still running, in process {manifest.process.pid}",
                            hint="let it finish, or stop it first (Ctrl-C in its terminal, or Cancel on its page in "
                                 "`gitevals ui`); --force resumes it anyway")
    changed = []
    if manifest.dataset_hash != plan.full_dataset.hash:
        changed.append(f"dataset {plan.full_dataset.name!r}")
    if _fingerprint(manifest.config) != _fingerprint(_start_manifest(project, plan).config):
        changed.append(f"eval {plan.name!r}")
    if changed and not force:
        raise GitevalsError(
            f"cannot resume run {manifest.id}: the {' and the '.join(changed)} changed since it began",
            hint="results made with different inputs would be mixed; start a new run, or pass --force",
        )
    # --force resumes a run cut short too: the items its results.jsonl lost run again
    records = read_results(folder) if force else read_checked_results(folder, manifest)
    done = {(r["item_id"], r["trial"]) for r in records}
    manifest = manifest.model_copy(
        update={"status": "running", "finished_at": None, "error": None, "process": process,
                "resumed_at": [*manifest.resumed_at, utc_now()]}
    )
    return RunWriter.reopen(folder, manifest), done


def _copy_reusable(writer: RunWriter, plan: EvalPlan, source: LoadedRun) -> set[tuple[str, int]]:
    """Copy `source`'s results whose item, target and scorers are unchanged; returns their pairs."""
    keys = ("target", "target_options", "scorers")
    if any(source.manifest.config.get(k) != writer.manifest.config.get(k) for k in keys):
        return set()
    hashes = {item.id: item.hash for item in plan.dataset.items}
    copied: set[tuple[str, int]] = set()
    for record in source.records:
        pair = (record["item_id"], record["trial"])
        if record.get("error") is None and hashes.get(pair[0]) == record.get("hash") and pair[1] < plan.trials \
                and pair not in copied:
            writer.append({**record, "reused_from": record.get("reused_from") or source.id})
            copied.add(pair)
    writer.manifest = writer.manifest.model_copy(update={"reused_from": source.id})
    writer.write_manifest()
    return copied


async def _record_git(project: Project, plan: EvalPlan, writer: RunWriter) -> None:
    sources = _result_sources(project, plan)
    try:
        info = await anyio.to_thread.run_sync(lambda: git_info(project.root, **sources))
    except Exception:  # a broken git install must not fail the run; it records git: null
        return
    if info is not None:
        writer.manifest = writer.manifest.model_copy(update={"git": info})
        writer.write_manifest()


def _result_sources(project: Project, plan: EvalPlan) -> dict[str, list[Path]]:
    """What a run's results depend on, for run.json's `dirty` (`git_info`'s
    arguments): the eval, its dataset and gitevals.yaml; the code (the
    python_path folders, where targets and scorers are imported from, and a
    command target's folder); and what to leave out of those folders: the runs
    and the other datasets and evals."""
    files = [plan.path, plan.full_dataset.path, project.config_path]
    if isinstance(plan.target, PythonTarget):  # the target's own module counts even while untracked
        files.append(plan.target.source_file)
    code = [project.root / folder for folder in project.config.python_path]
    if isinstance(plan.target, CommandTarget) and plan.target.cwd is not None:
        code.append(plan.target.cwd)
    return {"watched": [p for p in files if p is not None], "code": code,
            "ignored": [project.runs_dir, project.datasets_dir, project.evals_dir]}


def _start_manifest(project: Project, plan: EvalPlan) -> RunManifest:
    dataset = plan.full_dataset
    config = plan.config.model_dump(mode="json", exclude_defaults=True)
    config.update(concurrency=plan.concurrency, trials=plan.trials, retries=plan.policy.retries)
    if plan.policy.timeout_s is not None:
        config["timeout_s"] = plan.policy.timeout_s
    config["scorers"] = [s.spec if s.spec is not None else s.name for s in plan.scorers]
    return RunManifest(
        id=new_run_id(),
        eval=plan.name,
        dataset=dataset.name,
        status="running",
        started_at=utc_now(),
        dataset_path=project.relative(dataset.path) if dataset.path else None,
        dataset_blob_sha=dataset.blob_sha,
        dataset_hash=dataset.hash,
        tags=plan.tags,
        shard=plan.shard,
        only_failed_from=plan.only_failed_from,
        config=config,
        versions=Versions(gitevals=__version__, python=platform.python_version()),
    )


