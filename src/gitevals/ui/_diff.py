"""A word-level diff of an expected value and an output, as segments for a template."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

__all__ = ["mostly_equal", "text_diff"]

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
_LIMIT = 20_000  # characters of each side diffed; past that the diff is left out


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def text_diff(expected: Any, output: Any) -> list[tuple[str, str]] | None:
    """`[(op, text), ...]` turning `expected` into `output`, op being `equal`,
    `delete` (only in expected) or `insert` (only in the output); None when
    there is nothing to compare or the values are too long to diff quickly."""
    if expected is None or output is None:
        return None
    old, new = _as_text(expected), _as_text(output)
    if len(old) > _LIMIT or len(new) > _LIMIT:
        return None
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    segments: list[tuple[str, str]] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if segments and segments[-1][0] == op:
            segments[-1] = (op, segments[-1][1] + text)
        else:
            segments.append((op, text))

    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            add("equal", "".join(a[i1:i2]))
        else:
            add("delete", "".join(a[i1:i2]))
            add("insert", "".join(b[j1:j2]))
    return segments


def mostly_equal(segments: list[tuple[str, str]] | None) -> bool:
    """Whether at least half of the text of a diff is common to both sides. When
    not (a short key phrase against a whole answer), the diff says little and is shown folded."""
    if not segments:
        return False
    same = sum(len(text) for op, text in segments if op == "equal")
    return same * 2 >= sum(len(text) for _, text in segments)
