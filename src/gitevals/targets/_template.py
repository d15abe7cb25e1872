"""Simple JSON paths (`$.choices[0].message.content`, `data.answer`) and
request templates with `{{input}}`, `{{options.X}}`, `{{context.X}}` placeholders."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["PathError", "check_template", "format_path", "lookup", "names_in", "parse_path", "render"]

Path = tuple[str | int, ...]

_SEGMENT = re.compile(r"""\.?([^.\[\]'"\s]+)|\[\s*(-?\d+)\s*\]|\[\s*(['"])(.*?)\3\s*\]""")
_PLACEHOLDER = re.compile(
    r"\{\{\s*(input|options|context|request_context|id|tool_mocks|unmocked_tools)((?:[.\[][^}]*?)?)\s*\}\}"
)


class PathError(LookupError):
    """A path that is not in the value, with where it stopped and what was there."""


def parse_path(text: str) -> Path:
    """`$.a[0]["b c"].d` -> ("a", 0, "b c", "d"); `$` or "" is the whole value."""
    rest = text.strip()
    rest = rest[1:] if rest.startswith("$") else rest
    parts: list[str | int] = []
    pos = 0
    while pos < len(rest):
        found = _SEGMENT.match(rest, pos)
        if found is None:
            raise ValueError(
                f"cannot read the JSON path {text!r} at {rest[pos:]!r}; "
                "write it like $.choices[0].message.content or data.answer"
            )
        name, index, _, quoted = found.groups()
        parts.append(int(index) if index is not None else (name if name is not None else quoted))
        pos = found.end()
    return tuple(parts)


def format_path(path: Path) -> str:
    """("a", 0, "b c") -> `$.a[0]["b c"]`."""
    text = "$"
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            text += f".{part}"
        else:
            text += f"[{json.dumps(part)}]"
    return text


def lookup(value: Any, path: Path) -> Any:
    """The value at `path`; a PathError names the first part that is missing."""
    for depth, part in enumerate(path):
        here = format_path(path[:depth])
        if isinstance(part, int):
            if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
                raise PathError(f"{here} is {_kind(value)}, not a list")
            if not -len(value) <= part < len(value):
                raise PathError(f"{here} has {len(value)} item(s), so no [{part}]")
            value = value[part]
        else:
            if not isinstance(value, Mapping):
                raise PathError(f"{here} is {_kind(value)}, not an object")
            if part not in value:
                keys = ", ".join(sorted(map(str, value))[:12]) or "none"
                raise PathError(f"{here} has no key {part!r} (its keys: {keys})")
            value = value[part]
    return value


def render(template: Any, scope: Mapping[str, Any]) -> Any:
    """`template` with its placeholders filled from `scope` (input, options, context,
    request_context, id). A string that is one placeholder becomes that value, of
    any JSON type; a placeholder inside a longer string is replaced by the value's
    text (JSON for anything but a string). A missing value is null."""
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template.strip())
        if whole is not None:
            return _value(whole, scope)
        return _PLACEHOLDER.sub(lambda found: _text(_value(found, scope)), template)
    if isinstance(template, Mapping):
        return {key: render(value, scope) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, scope) for value in template]
    return template


def check_template(template: Any) -> None:
    """Raise ValueError for a placeholder whose path cannot be read."""
    if isinstance(template, str):
        for found in _PLACEHOLDER.finditer(template):
            parse_path(found.group(2))
    elif isinstance(template, Mapping):
        for value in template.values():
            check_template(value)
    elif isinstance(template, list):
        for value in template:
            check_template(value)


def names_in(template: Any) -> set[str]:
    """The scope names (`input`, `tool_mocks`, ...) a template's placeholders read."""
    if isinstance(template, str):
        return {found.group(1) for found in _PLACEHOLDER.finditer(template)}
    values = template.values() if isinstance(template, Mapping) else template if isinstance(template, list) else []
    return set().union(*(names_in(value) for value in values))


def _value(found: re.Match[str], scope: Mapping[str, Any]) -> Any:
    root, rest = found.group(1), found.group(2)
    try:
        return lookup(scope.get(root), parse_path(rest))
    except (PathError, ValueError):
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "a list"
    return f"a {type(value).__name__}"
