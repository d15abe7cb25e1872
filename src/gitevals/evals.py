"""Eval files: from `evals/<name>.yaml` to a recorded run folder.

`plan_eval` reads the eval, its dataset, target and scorers and reports every
problem at once, before anything runs. `arun_eval` runs the plan and records
it under `runs/<eval>/<run-id>/`.
"""

from __future__ import annotations

import platform
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from . import __version__
from ._validation import read_model
from ._yaml import locate
from .datasets import Dataset, load_dataset
from .errors import ConfigError, DataError, GitevalsError, Problem, did_you_mean
from .git import git_info
from .models import EvalConfig, GateResult, RunManifest, Versions
from .project import Project
from .results import RunWriter, new_run_id
from .runner import EvalResult, ItemResult, execute
from .scorers import BoundScorer, resolve_scorer
from .summary import check_thresholds
from .targets import Target, resolve_target

__all__ = ["EvalPlan", "RunOutcome", "arun_eval", "plan_eval", "run_eval"]


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
    timeout_s: float | None
    retries: int
    tags: list[str]


@dataclass(frozen=True)
class RunOutcome:
    """A finished run: where it is written, its manifest and its results."""

    path: Path
    manifest: RunManifest
    result: EvalResult

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
) -> EvalPlan:
    """Read eval `name` and everything it refers to; all problems are raised together."""
    path = project.eval_path(name)
    text, config = read_model(path, EvalConfig, ConfigError)
    project.add_python_path()
    problems: list[Problem] = []

    def collect(loc: tuple[Any, ...], action: Callable[[], Any]) -> Any:
        try:
            return action()
        except DataError as exc:
            problems.extend(exc.problems)
        except GitevalsError as exc:
            line, col = locate(text, loc)
            problems.extend(
                Problem(p.message, p.path or path, p.line if p.path else line, p.col if p.path else col, p.hint)
                for p in exc.problems
            )
        return None

    dataset = collect(("dataset",), lambda: load_dataset(project.dataset_path(config.dataset), config.dataset))
    target = collect(
        ("target",),
        lambda: resolve_target(
            config.target, named=project.config.targets, root=project.root, options=config.target_options
        ),
    )
    scorers = [
        collect(("scorers", index), lambda spec=spec: resolve_scorer(spec, project.config.scorers))
        for index, spec in enumerate(config.scorers)
    ]
    scorers = [s for s in scorers if s is not None]
    problems += _name_problems(scorers, config, path, text)
    if problems:
        raise ConfigError(problems=problems)
    assert dataset is not None and target is not None
    chosen_tags = list(tags) if tags else list(config.tags)
    selected = dataset.with_tags(chosen_tags)
    if not selected.items:
        raise ConfigError(
            f"no items to run: dataset {config.dataset!r} has no items"
            + (f" tagged {', '.join(chosen_tags)}" if chosen_tags else ""),
            path=path,
            hint=did_you_mean(chosen_tags[0], dataset.all_tags()) if chosen_tags else "add items to the dataset",
        )
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
        timeout_s=config.timeout_s if config.timeout_s is not None else defaults.timeout_s,
        retries=config.retries if config.retries is not None else defaults.retries,
        tags=chosen_tags,
    )


def _name_problems(scorers: list[BoundScorer], config: EvalConfig, path: Path, text: str) -> list[Problem]:
    """Duplicate scorer names, and thresholds naming no scorer."""
    problems = []
    names = [s.name for s in scorers]
    for index, scorer in enumerate(scorers):
        if scorer.name in names[:index]:
            line, col = locate(text, ("scorers", index))
            problems.append(
                Problem(
                    f"two scorers are named {scorer.name!r}",
                    path,
                    line,
                    col,
                    "give one of them a different `name:` so their scores are kept apart",
                )
            )
    if len(scorers) == len(config.scorers):
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
    on_start: Callable[[Path, RunManifest], None] | None = None,
    on_item_complete: Callable[[ItemResult], Awaitable[None] | None] | None = None,
) -> RunOutcome:
    """Run `plan`, recording it under the project's runs folder as it goes.

    If the run is cancelled or interrupted, the manifest says `interrupted`
    and every finished item is already on disk.
    """
    manifest = _start_manifest(project, plan)
    writer = RunWriter.create(project.runs_dir, manifest)
    if on_start is not None:
        on_start(writer.folder, manifest)

    def record(result: ItemResult) -> Awaitable[None] | None:
        writer.append(result.to_record())
        return on_item_complete(result) if on_item_complete is not None else None

    try:
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
                timeout_s=plan.timeout_s,
                retries=plan.retries,
                on_item_complete=record,
            )
    except BaseException as exc:
        interrupted = not isinstance(exc, Exception)
        writer.manifest = writer.manifest.model_copy(
            update={
                "status": "interrupted" if interrupted else "failed",
                "finished_at": _now(),
                "error": "interrupted" if interrupted else f"{type(exc).__name__}: {exc}",
            }
        )
        writer.write_manifest()
        writer.close()
        raise
    gates = check_thresholds(result.summary, plan.config.thresholds)
    writer.manifest = writer.manifest.model_copy(
        update={"status": "completed", "finished_at": _now(), "summary": result.summary, "gates": gates}
    )
    writer.write_manifest()
    writer.close()
    return RunOutcome(writer.folder, writer.manifest, result)


async def _record_git(project: Project, plan: EvalPlan, writer: RunWriter) -> None:
    watched = [plan.path] + ([plan.full_dataset.path] if plan.full_dataset.path else [])
    try:
        info = await anyio.to_thread.run_sync(git_info, project.root, watched)
    except Exception:  # a broken git install must not fail the run; it records git: null
        return
    if info is not None:
        writer.manifest = writer.manifest.model_copy(update={"git": info})
        writer.write_manifest()


def _start_manifest(project: Project, plan: EvalPlan) -> RunManifest:
    dataset = plan.full_dataset
    config = plan.config.model_dump(mode="json", exclude_defaults=True)
    config.update(concurrency=plan.concurrency, trials=plan.trials, retries=plan.retries)
    if plan.timeout_s is not None:
        config["timeout_s"] = plan.timeout_s
    config["scorers"] = [s.spec if s.spec is not None else s.name for s in plan.scorers]
    return RunManifest(
        id=new_run_id(),
        eval=plan.name,
        dataset=dataset.name,
        status="running",
        started_at=_now(),
        dataset_path=project.relative(dataset.path) if dataset.path else None,
        dataset_blob_sha=dataset.blob_sha,
        dataset_hash=dataset.hash,
        tags=plan.tags,
        config=config,
        versions=Versions(gitevals=__version__, python=platform.python_version()),
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
