"""An eval's runs in git order: how its scores moved from commit to commit."""

from __future__ import annotations

from gitevals.formats import RunManifest
from gitevals.git import Repository, open_repo
from gitevals.project import Project

from ._store import list_runs

__all__ = ["run_history"]


def run_history(project: Project, manifest: RunManifest, limit: int = 50) -> list[RunManifest]:
    """The runs of `manifest`'s eval that lead up to it, oldest first, ending with it.

    In a git repository these are the runs made at its commit or at one of the
    commits in its history, ordered by that history (runs at one commit by
    start time); runs made on other branches, at later commits, or outside git
    are left out. Without git, or for a run with no commit, runs are ordered
    by start time. At most the `limit` newest are returned.
    """
    runs = [info.manifest for info in list_runs(project.runs_dir, manifest.eval) if info.id != manifest.id]
    target = manifest.git.commit if manifest.git else None
    repo = open_repo(project.root) if target else None
    if repo is None or target is None:
        earlier = [m for m in runs if (m.started_at, m.id) < (manifest.started_at, manifest.id)]
        return [*earlier, manifest][-limit:]
    try:
        distances: dict[str, int | None] = {}
        ranked = []
        for run in runs:
            commit = run.git.commit if run.git else None
            if commit is None:
                continue
            if commit not in distances:
                distances[commit] = _distance(repo, commit, target)
            distance = distances[commit]
            if distance is None or (distance == 0 and (run.started_at, run.id) > (manifest.started_at, manifest.id)):
                continue
            ranked.append((-distance, run.started_at, run.id, run))
    finally:
        repo.close()
    ranked.sort(key=lambda entry: entry[:3])
    return [*(entry[3] for entry in ranked), manifest][-limit:]


def _distance(repo: Repository, commit: str, target: str) -> int | None:
    """Commits from `commit` to `target`; None when `commit` is not in `target`'s history."""
    try:
        return repo.distance(commit, target) if repo.is_ancestor(commit, target) else None
    except Exception:  # a commit that no longer exists (rebased away)
        return None
