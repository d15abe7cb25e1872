"""Git, the only module that imports GitPython. Every answer is a plain typed value,
and outside a repository (or without git installed) the answers are None."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .models import GitInfo

__all__ = ["git_info", "init_repo", "open_repo"]


def open_repo(path: Path) -> Any | None:
    """The repository containing `path`, or None when there is none."""
    try:
        import git
    except ImportError:  # GitPython raises ImportError when no git executable is found
        return None
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def git_info(path: Path, watched: Sequence[Path] = ()) -> GitInfo | None:
    """HEAD's commit and branch, and which `watched` files have uncommitted changes."""
    repo = open_repo(path)
    if repo is None:
        return None
    with repo:
        head = repo.head
        commit = head.commit.hexsha if head.is_valid() else None
        branch = None if head.is_detached else head.reference.name
        dirty = _dirty_paths(repo, watched)
    return GitInfo(commit=commit, branch=branch, dirty=bool(dirty), dirty_paths=dirty)


def _dirty_paths(repo: Any, watched: Sequence[Path]) -> list[str]:
    """Watched files that are modified, staged, or not committed at all."""
    if not watched:
        return []
    root = Path(repo.working_tree_dir).resolve()
    relative = []
    for path in watched:
        try:
            relative.append(path.resolve().relative_to(root).as_posix())
        except ValueError:
            continue
    if not relative:
        return []
    status = repo.git.status("--porcelain", "--untracked-files=all", "--", *relative)
    return sorted({line[3:].strip('"') for line in status.splitlines() if line.strip()})


def init_repo(path: Path) -> bool:
    """`git init` in `path`; False when git is not available."""
    try:
        import git
    except ImportError:
        return False
    git.Repo.init(path).close()
    return True
