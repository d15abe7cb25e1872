"""Joining the shards of one run (`gitevals run --shard I/N` on N machines) into one run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gitevals._util.clock import utc_now
from gitevals.errors import GitevalsError
from gitevals.formats import RunManifest
from gitevals.project import Project

from ._refs import LoadedRun, load_run
from ._store import new_run_id, write_run
from ._summary import check_gates, summarize

__all__ = ["merge_runs"]

_SAME: dict[str, Callable[[RunManifest], Any]] = {
    "eval": lambda m: m.eval,
    "commit": lambda m: m.git.commit if m.git else None,
    "dataset version": lambda m: m.dataset_hash,
    "configuration": lambda m: {k: v for k, v in m.config.items() if k != "concurrency"},
}


def merge_runs(project: Project, refs: Sequence[str]) -> tuple[Path, RunManifest]:
    """Write one run made of the complete set of shards named by `refs`.

    Refuses shards that do not belong together: another eval, commit, dataset
    version or configuration, a run that is not a shard, a shard given twice,
    one missing, or one that did not complete.
    """
    runs = [load_run(project, ref) for ref in refs]
    _check(runs)
    first = runs[0].manifest
    records = [record for run in sorted(runs, key=_shard_index) for record in run.records]
    trials = int(first.config.get("trials") or 1)
    items = len({record["item_id"] for record in records})
    summary = summarize(
        records,
        scorer_names=list(first.summary.scores) if first.summary else [],
        total_items=items,
        trials=trials,
        duration_s=max(run.manifest.summary.duration_s for run in runs if run.manifest.summary),
    )
    manifest = first.model_copy(
        update={
            "id": new_run_id(),
            "status": "completed",
            "started_at": min(run.manifest.started_at for run in runs),
            "finished_at": utc_now(),
            "shard": None,
            "merged_from": [run.id for run in runs],
            "summary": summary,
            "gates": check_gates(summary, first.config),
        }
    )
    return write_run(project.runs_dir, manifest, records), manifest


def _shard_index(run: LoadedRun) -> int:
    return (run.manifest.shard_slice or (0, 0))[0]


def _check(runs: Sequence[LoadedRun]) -> None:
    if len(runs) < 2:
        raise GitevalsError("name at least two shard runs to merge")
    not_shards = [run.id for run in runs if not run.manifest.shard]
    if not_shards:
        raise GitevalsError(f"not shard runs: {', '.join(not_shards)}", hint="shards are made with `gitevals run EVAL --shard I/N`")
    first = runs[0].manifest
    for label, value in _SAME.items():
        odd = [run.id for run in runs if value(run.manifest) != value(first)]
        if odd:
            raise GitevalsError(
                f"these shards do not belong with {first.id}: their {label} differs: {', '.join(odd)}",
                hint="merge the shards of one eval made at one commit with one configuration",
            )
    counts = {run.manifest.shard.partition("/")[2] for run in runs if run.manifest.shard}
    if len(counts) != 1:
        raise GitevalsError(f"the shards split the items differently: {', '.join(sorted(counts))} slices")
    total = int(counts.pop())
    seen: dict[int, str] = {}
    for run in runs:
        index = _shard_index(run)
        if index in seen:
            raise GitevalsError(f"shard {index}/{total} is given twice: {seen[index]} and {run.id}")
        seen[index] = run.id
    missing = [f"{i}/{total}" for i in range(1, total + 1) if i not in seen]
    if missing:
        raise GitevalsError(f"shards missing: {', '.join(missing)}", hint="run them, then merge all of them")
    unfinished = [f"{run.id} ({run.manifest.status})" for run in runs if run.manifest.status != "completed"]
    if unfinished:
        raise GitevalsError(f"shards that did not complete: {', '.join(unfinished)}",
                            hint="complete each with `gitevals run EVAL --shard I/N --resume RUN`")
