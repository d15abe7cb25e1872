"""Reading YAML safely and fast, and finding the line of any node when it is wrong.

Files are read with ruamel.yaml's C parser, and values are built from its
events by `_fastyaml` (no tag that builds Python objects is ever honoured). Positions are only needed when something is
wrong, so they come from a second, round-trip parse done only then.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from gitevals.errors import Problem

from .fast import construct

__all__ = ["YamlProblem", "load_yaml", "locate", "parse_problem"]


def _timestamp_as_text(constructor: Any, node: Any) -> str:
    # YAML 1.1 timestamps would become datetime objects, which are not JSON.
    return str(constructor.construct_scalar(node))


@lru_cache(maxsize=1)
def _safe_yaml() -> YAML:
    yaml = YAML(typ="safe", pure=False)
    yaml.constructor.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
    return yaml


def load_yaml(text: str | bytes | Any, path: Path | str, on_item: Callable[[Any], None] | None = None) -> Any:
    """Parse `text` (a str, UTF-8 bytes, or a binary file read in chunks); a syntax
    or tag error becomes a `Problem`.

    Raises `YamlProblem` (carrying the problem) so callers can wrap it in the
    error class that fits the file.
    """
    from _ruamel_yaml import CParser  # ruamel.yaml's C parser (ruamel.yaml.clib)

    # A parser of our own, not the YAML object's: that one keeps the last
    # document's text and reader buffer alive after the load.
    parser = CParser(text)
    try:
        return construct(iter(parser.get_event, None), _safe_yaml().constructor, on_item)
    except YAMLError as exc:
        context = getattr(exc, "context_mark", None)
        raise YamlProblem(parse_problem(exc, path), context.line + 1 if context is not None else None) from None
    finally:
        parser.dispose()


class YamlProblem(Exception):
    def __init__(self, problem: Problem, first_line: int | None = None) -> None:
        self.problem = problem
        self.first_line = first_line or problem.line
        """Where the broken part starts (an unclosed bracket's line), up to `problem.line`."""
        super().__init__(str(problem))


def parse_problem(exc: YAMLError, path: Path | str) -> Problem:
    """Turn a ruamel error into a Problem at the line and column it points at."""
    if isinstance(exc, ReaderError):
        return Problem(f"not UTF-8 text ({exc.reason} at byte {exc.position})", path, hint="save the file as UTF-8")
    if not isinstance(exc, MarkedYAMLError):
        return Problem(f"not valid YAML: {exc}", path)
    mark = exc.problem_mark or exc.context_mark
    what = exc.problem or str(exc)
    hint = "fix the YAML syntax at that position"
    if "constructor for the tag" in what:
        found = re.search(r"'([^']+)'", what)
        tag = found.group(1).replace("tag:yaml.org,2002:", "!!") if found else "?"
        what = f"the tag {tag} is not allowed"
        hint = "only plain YAML is read (no tags that build Python objects); remove the tag"
    elif "duplicate key" in what:
        hint = "each key may appear once in a mapping; remove or rename one"
    elif exc.context and exc.context_mark is not None and _position(exc.context_mark) != _position(mark):
        start = exc.context_mark
        what += f" ({exc.context} that starts at line {start.line + 1}, column {start.column + 1})"
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    return Problem(what, path, line, col, hint)


def _position(mark: Any) -> tuple[int, int] | None:
    return None if mark is None else (mark.line, mark.column)


@lru_cache(maxsize=2)  # every problem of a file is located in the same text
def _round_trip(text: str) -> Any:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = True
    return yaml.load(text)


def _scalar_value_position(node: Any, key: str | int) -> tuple[int, int] | None:
    """Where the scalar value of `key` in mapping `node` starts, 1-based."""
    if not (isinstance(key, str) and isinstance(node, dict) and key in node and hasattr(node, "lc")):
        return None
    if isinstance(node[key], (dict, list)):
        return None
    line, col = node.lc.value(key)
    return line + 1, col + 1


def locate(text: str, loc: Sequence[str | int], *, value: bool = False) -> tuple[int | None, int | None]:
    """The 1-based (line, column) of the node at `loc` in YAML `text`.

    Walks as deep as the path exists: a missing key points at its parent
    mapping, an unknown key at the key itself. With `value`, a key whose value
    is a scalar points at that value (`target: mod:fn` at `mod:fn`), for
    errors about what the value names rather than about the key.
    """
    try:
        node = _round_trip(text)
    except YAMLError:
        return None, None
    line, col = (1, 1)
    for index, part in enumerate(loc):
        if value and index == len(loc) - 1 and (found := _scalar_value_position(node, part)) is not None:
            return found
        lc = getattr(node, "lc", None)
        if lc is None:
            break
        try:
            if isinstance(part, int) and isinstance(node, list) and part < len(node):
                line, col = lc.item(part)
                line, col = line + 1, col + 1
                node = node[part]
            elif isinstance(part, str) and isinstance(node, dict) and part in node:
                line, col = lc.key(part)
                line, col = line + 1, col + 1
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    return line, col
