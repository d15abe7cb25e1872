"""`gitevals runs check`: every run folder verified, as `git fsck` verifies objects.

A folder is damaged when its run.json cannot be read, its results.jsonl is not
JSON lines (a torn line in the middle), or a finished run's summary counts
other results than the file holds. The last can be repaired: the results win,
and run.json gets the summary and gates they add up to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitevals.errors import DataError

from ._store import MANIFEST, RESULTS, counted_results, read_manifest, read_results, scan_runs, update_manifest
from ._summary import baseline_gates, check_gates, scorer_names, summarize

__all__ = ["Damage", "check_runs", "repair"]


@dataclass(frozen=True)
class Damage:
    """What is wrong with one run folder, and whether `repair` can fix it."""

    folder: Path
    reason: str
    repairable: bool = False


def check_runs(runs_dir: Path, eval_name: str | None = None) -> tuple[int, list[Damage]]:
    """(how many run folders were checked, the damage found), oldest first."""
    runs, damaged = scan_runs(runs_dir, eval_name)
    found = [Damage(folder, why) for folder, why in damaged]
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


def repair(damage: Damage) -> None:
    """Rewrite run.json's summary and gates from the results the folder holds."""
    if not damage.repairable:
        raise DataError(f"cannot be repaired: {damage.reason}", path=damage.folder)
    records = read_results(damage.folder)
    manifest = read_manifest(damage.folder)
    old = manifest.summary
    assert old is not None  # only a finished run's counts are checked
    summary = summarize(records, scorer_names=scorer_names(manifest, records),
                        total_items=len({r["item_id"] for r in records}), trials=old.trials,
                        duration_s=old.duration_s)
    gates = check_gates(summary, manifest.config, baseline_gates(manifest.gates))
    update_manifest(damage.folder, summary=summary, gates=gates)
