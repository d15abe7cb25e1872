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
from .formats import GitInfo

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


def git_info(
    path: Path, watched: Sequence[Path] = (), ignored: Sequence[Path] = (), code: Sequence[Path] = ()
) -> GitInfo | None:
    """HEAD's commit and branch, and which files have uncommitted changes: any
    change under `watched` (files or folders), and under the `code` folders a
    change to a file git tracks. An untracked file in a code folder is left out:
    reports, virtualenvs and scratch files there would make every run dirty, and
    new code is only reached through a tracked file that changed to use it.

    Changes under an `ignored` folder are left out unless a deeper watched or
    code path holds them: watching the project root as code while ignoring
    `datasets/` but watching `datasets/qa.yaml` counts edits to that dataset and
    the code, not to the other datasets. Paths outside the repository are left
    out (git refuses them).

    Every run asks this, so it is one `git status` call (about 10 ms) rather than
    GitPython, whose import alone costs more.
    """
    top = _work_tree(path)
    fences = [(Path(p).resolve(), kind) for kind, paths in (("watched", watched), ("code", code), ("ignored", ignored))
              for p in paths]
    asked = [p for p, kind in fences if kind != "ignored" and (top is None or _under(p, top))]
    command = ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=all", "-z"]
    command += ["--", *(f":(literal){p}" for p in asked)]
    try:
        done = subprocess.run(command, cwd=path, capture_output=True, check=False)
    except OSError:  # no git executable
        return None
    if done.returncode != 0:
        return None  # not inside a repository
    commit = branch = None
    changed: dict[str, bool] = {}  # path -> whether git tracks it
    entries = iter(done.stdout.decode("utf-8", errors="replace").split("\0"))
    for entry in entries:
        if entry.startswith("# branch.oid "):
            oid = entry.removeprefix("# branch.oid ")
            commit = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            head = entry.removeprefix("# branch.head ")
            branch = None if head == "(detached)" else head
        elif entry[:2] in ("1 ", "u "):
            changed[entry.split(" ", 8 if entry[0] == "1" else 10)[-1]] = True
        elif entry[:2] == "2 ":
            changed[entry.split(" ", 9)[-1]] = True
            next(entries, None)  # the path it was renamed from
        elif entry[:2] == "? ":
            changed[entry[2:]] = False
    if not asked:
        changed.clear()  # without paths, status lists the whole tree: not what was asked
    base = top or Path(path).resolve()
    dirty = sorted(p for p, tracked in changed.items() if _counts(base / p, tracked, fences))
    return GitInfo(commit=commit, branch=branch, dirty=bool(dirty), dirty_paths=dirty)


_PRECEDENCE = {"ignored": 0, "code": 1, "watched": 2}  # between fences at the same path


def _counts(path: Path, tracked: bool, fences: Sequence[tuple[Path, str]]) -> bool:
    """Whether a change to `path` counts: by the deepest fence holding it."""
    holding = [(len(folder.parts), _PRECEDENCE[kind], kind) for folder, kind in fences if _under(path, folder)]
    kind = max(holding, default=(0, 0, "watched"))[2]
    return kind == "watched" or (kind == "code" and tracked)


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _work_tree(path: Path) -> Path | None:
    """The nearest folder up from `path` holding `.git` (a folder, or a file in a
    linked worktree): a few stats instead of asking git."""
    here = Path(path).resolve()
    return next((folder for folder in (here, *here.parents) if (folder / ".git").exists()), None)


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
