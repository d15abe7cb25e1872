"""Git, the only module that imports GitPython. Every answer is a plain typed value,
and outside a repository (or without git installed) there is no repository: None."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Any

from .errors import GitevalsError
from .models import GitInfo

__all__ = ["CommitInfo", "Repository", "git_info", "init_repo", "open_repo", "user_name"]


@dataclass(frozen=True)
class CommitInfo:
    """One commit, as people read it in a log."""

    sha: str
    date: str
    """Author date, ISO 8601 in UTC."""
    author: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:8]


class Repository:
    """Read-only questions about one repository's history."""

    def __init__(self, repo: Any) -> None:
        self._repo = repo
        self.root = Path(repo.working_tree_dir).resolve()

    def close(self) -> None:
        self._repo.close()

    @property
    def cache_dir(self) -> Path:
        """A folder inside .git for gitevals' caches: local, never committed."""
        return Path(self._repo.git_dir) / "gitevals"

    def relative(self, path: Path) -> str | None:
        """`path` relative to the repository root (posix), or None when outside it."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None

    def head(self) -> str | None:
        """HEAD's commit sha; None in a repository with no commits."""
        head = self._repo.head
        return head.commit.hexsha if head.is_valid() else None

    def resolve(self, ref: str) -> str:
        """The commit sha of any ref: `main`, `origin/main`, `HEAD~3`, a tag, a short sha."""
        import git

        try:
            return self._repo.commit(ref).hexsha
        except (git.BadName, git.BadObject, ValueError, IndexError):
            raise GitevalsError(
                f"{ref!r} is not a commit, branch or tag in {self.root}",
                hint="check the name with `git log --oneline` or `git branch -a`",
            ) from None

    def show(self, commit: str, path: str) -> bytes | None:
        """The content of `path` (repository-relative) at `commit`; None when absent."""
        try:
            blob = self._repo.commit(commit).tree / path
        except KeyError:
            return None
        if blob.type != "blob":
            return None
        return blob.data_stream.read()

    def blob_sha(self, commit: str, path: str) -> str | None:
        """The blob sha of `path` at `commit`; None when absent."""
        try:
            return (self._repo.commit(commit).tree / path).hexsha
        except KeyError:
            return None

    def folders(self, commit: str, path: str) -> list[str]:
        """Names of the sub-folders of `path` at `commit` (empty when absent)."""
        try:
            tree = self._repo.commit(commit).tree / path
        except KeyError:
            return []
        return [sub.name for sub in getattr(tree, "trees", [])]

    def log(self, path: str, since: str | None, until: str, limit: int | None = None) -> list[CommitInfo]:
        """Commits that touched `path`, newest first: those reachable from `until`
        and not from `since` (and the other way round), or all of `until`'s
        history when `since` is None; at most `limit` of them when given."""
        rev = until if since is None else f"{since}...{until}"
        extra = {} if limit is None else {"max_count": limit}
        return [_commit_info(c) for c in self._repo.iter_commits(rev, paths=path, **extra)]

    def merge_base(self, a: str, b: str) -> str | None:
        found = self._repo.merge_base(a, b)
        return found[0].hexsha if found else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether `ancestor` is `descendant` or in its history."""
        return bool(self._repo.is_ancestor(ancestor, descendant))

    def distance(self, ancestor: str, descendant: str) -> int:
        """How many commits lead from `ancestor` to `descendant`."""
        return int(self._repo.git.rev_list("--count", f"{ancestor}..{descendant}"))

    def commit(self, sha: str) -> CommitInfo:
        return _commit_info(self._repo.commit(sha))

    def has_changes(self, path: Path) -> bool:
        """Whether `path` differs from HEAD (modified, staged or untracked)."""
        relative = self.relative(path)
        if relative is None:
            return False
        return bool(self._repo.git.status("--porcelain", "--untracked-files=all", "--", relative).strip())

    def commit_file(self, path: Path, message: str) -> str:
        """Commit `path` alone (other staged changes stay staged); returns the new sha."""
        import git

        relative = self.relative(path)
        if relative is None:
            raise GitevalsError(f"{path} is outside the repository {self.root}")
        try:
            self._repo.git.add("--", relative)
            self._repo.git.commit("--quiet", "--only", "-m", message, "--", relative)
        except git.GitCommandError as exc:
            detail = (exc.stderr or str(exc)).strip().splitlines()[-1:] or [""]
            raise GitevalsError(
                f"git commit failed: {detail[0].strip()}",
                path=path,
                hint="set your identity with `git config user.name` and `git config user.email`"
                if "identity" in str(exc) or "user.email" in str(exc) else None,
            ) from None
        return self._repo.head.commit.hexsha


def _commit_info(commit: Any) -> CommitInfo:
    date = commit.authored_datetime.astimezone(timezone.utc).isoformat()
    return CommitInfo(commit.hexsha, date, commit.author.name or "", commit.summary)


def open_repo(path: Path) -> Repository | None:
    """The repository containing `path`, or None when there is none."""
    try:
        import git
    except ImportError:  # GitPython raises ImportError when no git executable is found
        return None
    try:
        return Repository(git.Repo(path, search_parent_directories=True))
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


def user_name(path: Path) -> str | None:
    """`git config user.name` as seen from `path`; None when unset or without git."""
    try:
        done = subprocess.run(["git", "config", "user.name"], cwd=path, capture_output=True, check=False)
    except OSError:  # no git executable
        return None
    name = done.stdout.decode("utf-8", errors="replace").strip()
    return name if done.returncode == 0 and name else None


def init_repo(path: Path) -> bool:
    """`git init` in `path`; False when git is not available."""
    try:
        import git
    except ImportError:
        return False
    git.Repo.init(path).close()
    return True
