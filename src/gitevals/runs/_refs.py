"""Naming runs: by id, by folder, by eval, by `EVAL@REF`, and baselines from git.

A run is read from its folder in the working tree, or, when it exists only in
git history (committed under runs/ on another branch), from the commit that
holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gitevals.errors import NotFoundError
from gitevals.formats import ResultRecord, RunManifest
from gitevals.git import Repository, open_repo
from gitevals.project import Project

from ._store import (
    MANIFEST,
    RESULTS,
    find_run,
    list_runs,
    merged_shards,
    offered_runs,
    parse_results,
    read_checked_results,
    read_manifest,
    refuse_newer_damage,
    scan_runs,
)

__all__ = ["LoadedRun", "check_ref", "find_baseline", "load_run", "newest_pair"]


@dataclass(frozen=True)
class LoadedRun:
    """A run's manifest and results, and where they were read from."""

    manifest: RunManifest
    records: list[ResultRecord]
    source: str
    """The run folder, or `<commit>:<path>` for a run read from git history."""
    reviews: tuple[Any, ...] = ()
    """Its human reviews (`ReviewLine`s of reviews.jsonl), oldest first; not merged into `records`."""

    @property
    def id(self) -> str:
        return self.manifest.id

    def with_reviews(self) -> LoadedRun:
        """This run with its reviews merged in as the scorer `human`, and its summary recomputed."""
        if not self.reviews:
            return self
        from ._review import apply_reviews, manifest_with_reviews

        records = apply_reviews(self.records, self.reviews)
        return LoadedRun(manifest_with_reviews(self.manifest, records), records, self.source, self.reviews)


def load_run(project: Project, ref: str, eval_name: str | None = None) -> LoadedRun:
    """The run named by `ref`: an id (or a unique start or end of one), a folder,
    an eval name (its newest run) or `EVAL~N`, `latest` or `latest~N` (among
    `eval_name`'s runs when given), or `EVAL@REF` (the eval's baseline at a git ref)."""
    if "@" in ref and not ref.startswith("@"):
        base, _, git_ref = ref.partition("@")
        return find_baseline(project, base, git_ref)
    info = find_run(project.runs_dir, ref, eval_name=eval_name)
    return _from_folder(project, info.path, info.manifest)


def newest_pair(project: Project, eval_name: str | None = None) -> tuple[LoadedRun, LoadedRun]:
    """The two newest runs of one eval (of the newest run's eval when not given), oldest first."""
    found, damaged = scan_runs(project.runs_dir, eval_name)
    runs = offered_runs(found)
    if eval_name is None and runs:
        eval_name = runs[-1].manifest.eval
        runs = [r for r in runs if r.manifest.eval == eval_name]
    if runs:  # a damaged newer folder must not make the two newest mean two older runs
        refuse_newer_damage(runs[-1], damaged, "the two newest runs", eval_name)
    if len(runs) < 2:
        raise NotFoundError(
            f"need two runs to compare, found {len(runs)}" + (f" of eval {eval_name!r}" if eval_name else ""),
            hint="name them (`gitevals compare A B`), or pick a baseline with --baseline REF",
        )
    a, b = runs[-2], runs[-1]
    return _from_folder(project, a.path, a.manifest), _from_folder(project, b.path, b.manifest)


def _from_folder(project: Project, folder: Path, manifest: RunManifest) -> LoadedRun:
    from ._review import read_reviews

    records = read_checked_results(folder, manifest)
    return LoadedRun(manifest, records, project.relative(folder), tuple(read_reviews(folder)))


def check_ref(project: Project, ref: str) -> str:
    """The commit sha `ref` names; raises when the project is in no repository or
    `ref` names no commit. Asked before a run whose end needs it (`--baseline`),
    so that a typo costs nothing rather than the whole run."""
    repo = _open_repo(project)
    try:
        return repo.resolve(ref)
    finally:
        repo.close()


def _open_repo(project: Project) -> Repository:
    repo = open_repo(project.root)
    if repo is None:
        raise NotFoundError("--baseline needs a git repository", hint="run `git init` and commit your evals")
    return repo


def find_baseline(project: Project, eval_name: str, ref: str, exclude: str | None = None) -> LoadedRun:
    """The newest run of `eval_name` recorded at `ref`'s commit or one of its ancestors.

    Runs come from the working tree and from the tree of `ref` itself, so a run
    committed on another branch is found without checking it out. The run made
    at the commit nearest to `ref` wins; among those, the newest.
    """
    repo = _open_repo(project)
    try:
        target = repo.resolve(ref)
        candidates = _candidates(project, repo, eval_name, target)
        ranked = []
        distances: dict[str, int | None] = {}
        merged = merged_shards(manifest for manifest, _ in candidates.values())
        for manifest, location in candidates.values():
            commit = manifest.git.commit if manifest.git else None
            if commit is None or manifest.id == exclude or manifest.id in merged:
                continue
            if commit not in distances:
                distances[commit] = _distance(repo, commit, target)
            if distances[commit] is not None:
                ranked.append((distances[commit], _reverse(manifest.started_at), manifest.id, location, manifest))
        if not ranked:
            raise NotFoundError(
                f"no run of eval {eval_name!r} was made at {ref} ({target[:8]}) or before it",
                hint=f"run it there first (`git checkout {ref} && gitevals run {eval_name}`), and commit runs/",
            )
        ranked.sort()
        _, _, _, location, manifest = ranked[0]
        return _read(repo, manifest, location, target)
    finally:
        repo.close()


def _candidates(project: Project, repo: Repository, eval_name: str, commit: str) -> dict[str, tuple[RunManifest, Any]]:
    """Run id -> (manifest, where): a folder in the working tree, or a path in `commit`."""
    found: dict[str, tuple[RunManifest, Any]] = {}
    runs_path = repo.relative(project.runs_dir / eval_name)
    if runs_path is not None:
        for name in repo.folders(commit, runs_path):
            raw = repo.show(commit, f"{runs_path}/{name}/{MANIFEST}")
            if raw is None:
                continue
            try:
                manifest = RunManifest.model_validate_json(raw)
            except ValidationError:
                continue
            found[manifest.id] = (manifest, f"{runs_path}/{name}")
    for info in list_runs(project.runs_dir, eval_name):
        found[info.id] = (info.manifest, info.path)  # the working tree wins: it may hold more results
    return found


def _distance(repo: Repository, commit: str, target: str) -> int | None:
    """Commits from `commit` to `target`, or None when `commit` is not in `target`'s history."""
    try:
        return repo.distance(commit, target) if repo.is_ancestor(commit, target) else None
    except Exception:  # a commit that no longer exists (rebased away)
        return None


def _reverse(text: str) -> tuple[int, ...]:
    """A sort key that puts later timestamps first."""
    return tuple(-ord(c) for c in text)


def _read(repo: Repository, manifest: RunManifest, location: Any, commit: str) -> LoadedRun:
    from ._review import REVIEWS, parse_reviews, read_reviews

    if not isinstance(location, str):
        manifest = read_manifest(location)
        return LoadedRun(manifest, read_checked_results(location, manifest), str(location),
                         tuple(read_reviews(location)))
    raw = repo.show(commit, f"{location}/{RESULTS}") or b""
    records = parse_results(raw, f"{location}/{RESULTS}@{commit[:8]}")
    reviews = parse_reviews(repo.show(commit, f"{location}/{REVIEWS}") or b"", f"{location}/{REVIEWS}@{commit[:8]}")
    return LoadedRun(manifest, records, f"{commit[:8]}:{location}", tuple(reviews))
