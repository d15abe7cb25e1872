"""Errors a user can cause, each naming where, what is wrong and how to fix it.

Hierarchy::

    GitevalsError            anything the user can fix; the CLI exits 2
    ├── ConfigError          gitevals.yaml, an eval file, a target or scorer reference
    ├── DataError            a dataset file
    └── NotFoundError        a dataset, eval or run that does not exist

Every error holds one or more `Problem`s so that all the problems of a file are
reported together instead of one per attempt.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ConfigError",
    "DataError",
    "GitevalsError",
    "NotFoundError",
    "Problem",
    "did_you_mean",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong, with where it is (1-based line and column) and the fix."""

    message: str
    path: Path | str | None = None
    line: int | None = None
    col: int | None = None
    hint: str | None = None
    at: tuple[str | int, ...] = ()
    """Where inside the value that was checked the problem sits (say, an option's
    key in a scorer mapping), for a caller that knows where the value is in its
    file and has no line yet."""

    def location(self) -> str:
        if self.path is None:
            return ""
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return where

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class GitevalsError(Exception):
    """An error the user can fix. `problems` lists every problem found."""

    def __init__(
        self,
        message: str | None = None,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        col: int | None = None,
        hint: str | None = None,
        at: tuple[str | int, ...] = (),
        problems: Iterable[Problem] = (),
    ) -> None:
        found = list(problems)
        if message is not None:
            found.insert(0, Problem(message, path, line, col, hint, at))
        if not found:
            raise ValueError("a GitevalsError needs a message or problems")
        self.problems = found
        super().__init__(str(self))

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems:"]
        lines += [f"- {str(p).replace(chr(10), chr(10) + '  ')}" for p in self.problems]
        return "\n".join(lines)


class ConfigError(GitevalsError):
    """gitevals.yaml, an eval file, or a target or scorer reference is wrong."""


class DataError(GitevalsError):
    """A dataset file is wrong."""


class NotFoundError(GitevalsError):
    """A dataset, eval or run that was asked for does not exist."""


def did_you_mean(name: str, choices: Iterable[str], *, or_choices: bool = True) -> str | None:
    """A hint naming the nearest choices to a misspelt `name`, or the valid ones
    (None instead when not `or_choices`)."""
    options = sorted(set(choices))
    if not options:
        return None
    near = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
    if near:
        return "did you mean " + " or ".join(repr(n) for n in near) + "?"
    if not or_choices:
        return None
    shown = ", ".join(options[:12]) + (", ..." if len(options) > 12 else "")
    return f"valid choices: {shown}"
