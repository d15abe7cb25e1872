"""Dataset versions: a dataset file as it was at any commit, and what changed
between versions, item by item.

Every commit is a dataset version. A version is parsed once per git blob and
kept under .git/gitevals/datasets/ (see _datasetcache), so reading it again
costs a fraction of parsing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitevals._util.words import plural
from gitevals.errors import DataError
from gitevals.formats import RunManifest
from gitevals.git import CommitInfo, Repository, open_repo
from gitevals.project import Project

from . import _cache as _datasetcache
from ._item import Dataset
from ._load import parse_dataset

__all__ = ["DatasetHistory", "DatasetVersion", "ItemChanges", "dataset_commits", "item_changes"]


@dataclass(frozen=True)
class ItemChanges:
    """Item ids added, removed and changed (content hash differs) between two versions."""

    added: list[str]
    removed: list[str]
    changed: list[str]

    def counts(self) -> str:
        return f"+{len(self.added)} ~{len(self.changed)} -{len(self.removed)}"


def item_changes(old: Dataset | None, new: Dataset | None) -> ItemChanges:
    before = {item.id: item.hash for item in old.items} if old else {}
    after = {item.id: item.hash for item in new.items} if new else {}
    return ItemChanges(
        added=[i for i in after if i not in before],
        removed=[i for i in before if i not in after],
        changed=[i for i in after if i in before and before[i] != after[i]],
    )


@dataclass(frozen=True)
class DatasetVersion:
    """One commit that changed the dataset file, and what it changed."""

    commit: CommitInfo
    blob_sha: str | None
    """None when the commit deleted the file."""
    changes: ItemChanges | None
    """None when this version or the one before it is not a valid dataset."""
    error: str | None = None


class DatasetHistory:
    """Versions of dataset files in one repository."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def at(self, commit: str, path: str, name: str) -> Dataset | None:
        """The dataset at `path` (repository-relative) as of `commit`; None when absent.

        Raises DataError when that version is not a valid dataset.
        """
        blob = self.repo.blob_sha(commit, path)
        if blob is None:
            return None
        cached = _datasetcache.load(self.repo.cache_dir, blob, name)
        if cached is not None:
            return cached
        raw = self.repo.show(commit, path)
        assert raw is not None
        dataset = parse_dataset(raw, f"{path}@{commit[:8]}", name)
        _datasetcache.store(self.repo.cache_dir, dataset)
        return dataset

    def versions(self, path: str, name: str, until: str = "HEAD") -> list[DatasetVersion]:
        """The commits that changed `path`, newest first, each with its item changes."""
        commits = self.repo.log(path, None, until)
        found = []
        for index, commit in enumerate(commits):
            before = commits[index + 1].sha if index + 1 < len(commits) else None
            blob = self.repo.blob_sha(commit.sha, path)
            try:
                new = self.at(commit.sha, path, name)
                old = self.at(before, path, name) if before else None
            except DataError as exc:
                found.append(DatasetVersion(commit, blob, None, f"not a valid dataset ({plural(len(exc.problems), 'problem')})"))
                continue
            found.append(DatasetVersion(commit, blob, item_changes(old, new)))
        return found


def dataset_commits(project: Project, a: RunManifest, b: RunManifest) -> list[CommitInfo]:
    """The commits between two runs' commits that touched their dataset file."""
    if a.dataset_hash == b.dataset_hash or not (a.git and b.git and a.git.commit and b.git.commit):
        return []
    dataset_path = b.dataset_path or a.dataset_path
    repo = open_repo(project.root)
    if repo is None or dataset_path is None:
        return []
    try:
        relative = repo.relative(project.root / dataset_path)
        if relative is None or a.git.commit == b.git.commit:
            return []
        return repo.log(relative, a.git.commit, b.git.commit)
    except Exception:  # a commit that no longer exists: the comparison still stands
        return []
    finally:
        repo.close()
