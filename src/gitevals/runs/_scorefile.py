"""scores.jsonl: the side file of a scoring pass under way (see `scoring`).

One line per computed score (`{item_id, trial, scorer, score}`), flushed as
soon as it is written, after a `{"pass": {...}}` line naming the scorers'
specs. A pass holds the file's lock (`locked`) from start to end, so a second
pass over the run waits for the first; the OS releases it when a process dies.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gitevals._util.locks import locked

__all__ = ["SCORES", "Key", "ScoreFile"]

SCORES = "scores.jsonl"
"""The side file's name in the run folder."""

Key = tuple[str, int, str]
"""Item id, trial, scorer name."""


class ScoreFile:
    """scores.jsonl: one flushed line per new score, written holding the lock
    that keeps two scoring passes of one run apart."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / SCORES
        # A second pass over the run waits for this one, then finds its scores in
        # results.jsonl; one that waits too long fails, naming the file.
        self._lock = locked(self.path)
        self._lock.__enter__()
        try:
            self._handle = open(self.path, "a+b")  # noqa: SIM115 - closed in __exit__
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise

    def __enter__(self) -> ScoreFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if not self._handle.closed and self._handle.seek(0, os.SEEK_END) == 0:
                self.remove()  # a pass refused before it began leaves nothing behind
            self._handle.close()
        finally:
            self._lock.__exit__(None, None, None)

    def read(self) -> tuple[dict[Key, dict[str, Any]], dict[str, Any]]:
        """Scores an earlier, interrupted pass computed, and the specs it used; a torn
        last line (the writer was killed mid-line) is cut off."""
        self._handle.seek(0)
        raw = self._handle.read()
        whole = raw[: raw.rfind(b"\n") + 1]
        if len(whole) != len(raw):
            self._handle.truncate(len(whole))
        scores: dict[Key, dict[str, Any]] = {}
        specs: dict[str, Any] = {}
        for line in whole.decode("utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
                if "pass" in entry:
                    specs.update(entry["pass"]["scorers"])
                else:
                    scores[(entry["item_id"], entry["trial"], entry["scorer"])] = entry["score"]
            except (ValueError, KeyError, TypeError):
                continue  # an unreadable line is scored again, never guessed at
        return scores, specs

    def write(self, entry: dict[str, Any]) -> None:
        self._handle.write((json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode("utf-8"))
        self._handle.flush()

    def clear(self) -> None:
        self._handle.truncate(0)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
