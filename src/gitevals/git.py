"""Git, the only module that imports GitPython. Every answer is a plain typed value,
and outside a repository (or without git installed) the answers are None."""

from __future__ import annotations

import subprocess
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
    """HEAD's commit and branch, and which `watched` files have uncommitted changes.

    Every run asks this, so it is one `git status` call (about 10 ms) rather than
    GitPython, whose import alone costs more.
    """
    command = ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=all", "-z"]
    command += ["--", *(str(p.resolve()) for p in watched)]
    try:
        done = subprocess.run(command, cwd=path, capture_output=True, check=False)
    except OSError:  # no git executable
        return None
    if done.returncode != 0:
        return None  # not inside a repository
    commit = branch = None
    dirty: set[str] = set()
    entries = iter(done.stdout.decode("utf-8", errors="replace").split("\0"))
    for entry in entries:
        if entry.startswith("# branch.oid "):
            oid = entry.removeprefix("# branch.oid ")
            commit = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            head = entry.removeprefix("# branch.head ")
            branch = None if head == "(detached)" else head
        elif entry[:2] in ("1 ", "u "):
            dirty.add(entry.split(" ", 8 if entry[0] == "1" else 10)[-1])
        elif entry[:2] == "2 ":
            dirty.add(entry.split(" ", 9)[-1])
            next(entries, None)  # the path it was renamed from
        elif entry[:2] == "? ":
            dirty.add(entry[2:])
    if not watched:
        dirty.clear()  # without paths, status lists the whole tree: not what was asked
    return GitInfo(commit=commit, branch=branch, dirty=bool(dirty), dirty_paths=sorted(dirty))


def init_repo(path: Path) -> bool:
    """`git init` in `path`; False when git is not available."""
    try:
        import git
    except ImportError:
        return False
    git.Repo.init(path).close()
    return True
