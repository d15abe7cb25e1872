"""`gitevals runs check`: every run folder verified, as `git fsck` verifies objects.

A folder is damaged when its run.json cannot be read (or is missing beside
results.jsonl), its results.jsonl is not JSON lines (a torn line in the
middle), or a finished run's summary counts other results than the file holds. What can be repaired is: the results win,
and run.json gets the summary and gates they add up to. An unreadable run.json
is restored from git when the run is committed, else rebuilt from its results
and the eval file as it is now (what only run.json knew, such as the commit
the run was made at, is then lost, and the rebuilt run says so).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gitevals._util.clock import utc_now
from gitevals._version import __version__
from gitevals._yaml.validation import read_model
from gitevals.errors import ConfigError, DataError, NotFoundError
from gitevals.formats import EvalConfig, ResultRecord, RunManifest, Versions
from gitevals.git import open_repo
from gitevals.project import Project

from ._store import (
    MANIFEST,
    RESULTS,
    counted_results,
    read_manifest,
    read_results,
    scan_runs,
    update_manifest,
    write_manifest,
)
from ._summary import baseline_gates, check_gates, scorer_names, summarize

__all__ = ["REBUILT", "Damage", "check_runs", "repair"]

REBUILT = ("run.json was rebuilt from results.jsonl by `gitevals runs check --repair`: the commit, the dataset "
           "version and the settings the run was made with were lost; its config is the eval file as it was at the repair")
"""The `error` of a rebuilt run: it tells every later reader what is not known."""


@dataclass(frozen=True)
class Damage:
    """What is wrong with one run folder, and whether `repair` can fix it."""

    folder: Path
    reason: str
    repairable: bool = False


def check_runs(project: Project, eval_name: str | None = None) -> tuple[int, list[Damage]]:
    """(how many run folders were checked, the damage found), oldest first."""
    runs, damaged = scan_runs(project.runs_dir, eval_name)
    found = [Damage(folder, why, repairable=_committed_manifest(project, folder) is not None
                    or _readable_results(folder)) for folder, why in damaged]
    for run in runs:
        try:
            records = read_results(run.path)
        except DataError as exc:
            found.append(Damage(run.path, str(exc)))
            continue
        counted = counted_results(run.manifest)
        if counted is not None and counted != len(records):
            found.append(Damage(run.path, f"{RESULTS} holds {len(records)} results, {MANIFEST} counts {counted}",
                                repairable=True))
    return len(damaged) + len(runs), found


def repair(project: Project, damage: Damage) -> str:
    """Repair one damaged folder; returns what was done."""
    if not damage.repairable:
        raise DataError(f"cannot be repaired: {damage.reason}", path=damage.folder)
    folder = damage.folder
    records = read_results(folder)
    done = []
    try:
        manifest = read_manifest(folder)
    except (DataError, NotFoundError):
        committed = _committed_manifest(project, folder)
        manifest = committed or _rebuilt_manifest(project, folder, records)
        write_manifest(folder, manifest)
        done.append("run.json restored from git (HEAD)" if committed else "run.json rebuilt from the results")
    counted = counted_results(manifest)
    if manifest.error == REBUILT or (counted is not None and counted != len(records)):
        _resum(folder, manifest, records)
        done.append("run.json now sums up the results")
    return "; ".join(done) or "nothing left to repair"


def _resum(folder: Path, manifest: RunManifest, records: list[ResultRecord]) -> None:
    """Make run.json's summary and gates those its results add up to: the results win."""
    old = manifest.summary
    trials = old.trials if old else max((r.get("trial", 0) for r in records), default=0) + 1
    summary = summarize(records, scorer_names=scorer_names(manifest, records),
                        total_items=len({r["item_id"] for r in records}), trials=trials,
                        duration_s=old.duration_s if old else 0.0)
    gates = check_gates(summary, manifest.config, baseline_gates(manifest.gates))
    update_manifest(folder, summary=summary, gates=gates)


def _readable_results(folder: Path) -> bool:
    try:
        return bool(read_results(folder))
    except (DataError, OSError):
        return False


def _committed_manifest(project: Project, folder: Path) -> RunManifest | None:
    """The run's run.json as committed at HEAD, when it is and it reads."""
    repo = open_repo(project.root)
    if repo is None:
        return None
    try:
        relative = repo.relative(folder / MANIFEST)
        raw = repo.show("HEAD", relative) if relative else None
    except Exception:  # a repository without commits
        raw = None
    finally:
        repo.close()
    if raw is None:
        return None
    try:
        return RunManifest.model_validate_json(raw)
    except ValidationError:
        return None


def _rebuilt_manifest(project: Project, folder: Path, records: list[ResultRecord]) -> RunManifest:
    """A manifest for `folder` from what its path and the eval file still say."""
    eval_name = folder.parent.name
    config: dict[str, Any] = {}
    try:
        config = read_model(project.eval_path(eval_name), EvalConfig, ConfigError)[1].model_dump(
            mode="json", exclude_defaults=True)
    except (ConfigError, OSError):
        pass  # the eval is gone too: the results alone are summed up
    return RunManifest(
        id=folder.name, eval=eval_name, dataset=config.get("dataset"), status="interrupted",
        started_at=_started_at(folder.name, records), config=config,
        versions=Versions(gitevals=__version__, python=platform.python_version()), error=REBUILT,
    )


def _started_at(run_id: str, records: list[ResultRecord]) -> str:
    """When the run began, as near as is still known: its first result's start
    (a moment after the run's own), else the second its id begins with."""
    starts = [r["started_at"] for r in records if r.get("started_at")]
    if starts:
        return min(starts)
    try:
        return datetime.strptime(run_id.partition("-")[0], "%Y%m%dT%H%M%S%z").isoformat(timespec="microseconds")
    except ValueError:
        return utc_now()
