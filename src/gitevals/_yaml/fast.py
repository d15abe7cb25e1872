"""Plain data from YAML, built straight from libyaml's event stream.

ruamel.yaml's safe loader on the C parser spends most of its time in Python,
composing a node tree and resolving every scalar through a slow version
lookup (about 2 s for a 10,000-item dataset). Here the C parser's events are
turned into dicts, lists and scalars in one pass, and only scalars that look
like something other than a string go through ruamel's own constructors, so
the values are the ones its safe loader gives. The result is about three
times faster. Only the YAML that plain data needs is accepted: an explicit tag
other than the standard scalar, map and seq tags is an error, as is a second
document.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import implicit_resolvers

__all__ = ["construct", "ConstructError"]

_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _MERGE, _TIMESTAMP = (_TAG + t for t in ("str", "map", "seq", "merge", "timestamp"))
_SCALAR_TAGS = {_TAG + t for t in ("null", "bool", "int", "float")}
_MISSING = object()
_INTERNED = 24


class ConstructError(MarkedYAMLError):
    """A document that parses but is not plain data (a forbidden tag, a duplicate key, ...)."""


@lru_cache(maxsize=1)
def _plain_resolvers() -> dict[str, list[tuple[str, Any]]]:
    """First character -> (tag, regex) of YAML 1.2's implicit scalar types, from ruamel's table."""
    table: dict[str, list[tuple[str, Any]]] = {}
    for versions, tag, regexp, first in implicit_resolvers:
        if (1, 2) in versions:
            for char in first or [""]:
                table.setdefault(char, []).append((tag, regexp.lazy_self() if hasattr(regexp, "lazy_self") else regexp))
    return table


class _Scalars:
    """Resolves and builds scalars exactly as ruamel's safe constructor does."""

    def __init__(self, constructor: SafeConstructor) -> None:
        self.resolvers = _plain_resolvers()
        self.constructor = constructor

    def value(self, event: ScalarEvent) -> Any:
        text = event.value
        if len(text) <= _INTERNED:
            text = sys.intern(text)  # keys and tags repeat in every item: keep one copy
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return text  # quoted, or a block scalar: always a string
            tag = self._resolve(text)
            if tag is None:
                return text
        if tag in (_STR, _TIMESTAMP):
            return text  # timestamps stay text: datetimes are not JSON
        if tag == _MERGE:
            return _MERGE_KEY
        if tag not in _SCALAR_TAGS:
            raise _tag_error(tag, event)
        build = SafeConstructor.yaml_constructors[tag]
        return build(self.constructor, ScalarNode(tag, text, event.start_mark, event.end_mark))

    def _resolve(self, text: str) -> str | None:
        for tag, regexp in self.resolvers.get(text[:1], ()):
            if regexp.match(text):
                return tag
        return None


class _MergeKey:
    """The `<<` key: its value's mappings are merged into the mapping holding it."""

    def __repr__(self) -> str:
        return "<<"


_MERGE_KEY = _MergeKey()


def _tag_error(tag: str, event: Any) -> ConstructError:
    shown = tag.replace(_TAG, "!!")
    return ConstructError(
        None, None, f"could not determine a constructor for the tag '{shown}'", event.start_mark
    )


def construct(
    events: Iterable[Any], constructor: SafeConstructor, on_item: Callable[[Any], None] | None = None
) -> Any:
    """The single document in `events` as dicts, lists and scalars (None when empty).

    `constructor` is the safe loader's, used for the scalars that are not strings.
    With `on_item`, each entry of a top-level `items:` list is handed over as
    soon as it is complete instead of kept (the list stays empty), so a large
    dataset never lives in memory all at once.
    """
    scalars = _Scalars(constructor)
    stack: list[list[Any]] = []  # [container, pending key, key event, merges, anchor, start event]
    anchors: dict[str, Any] = {}
    root: Any = None
    documents = 0
    for event in events:
        kind = event.__class__
        if kind is ScalarEvent:
            value = scalars.value(event)
            if event.anchor:
                anchors[event.anchor] = value
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.tag not in (None, "!", _MAP, _SEQ):
                raise _tag_error(event.tag, event)
            container: Any = {} if kind is MappingStartEvent else []
            streamed = on_item is not None and kind is SequenceStartEvent and len(stack) == 1 and stack[0][1] == "items"
            stack.append([container, _MISSING, None, None, event.anchor, event, streamed])
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            container, _, _, merges, anchor, event, _ = stack.pop()  # positions point at the start
            if merges:
                _merge(container, merges)
            value = container
            if anchor:
                anchors[anchor] = value
        elif kind is AliasEvent:
            value = anchors.get(event.anchor, _MISSING)
            if value is _MISSING:
                raise ConstructError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
        elif kind is DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise ConstructError(
                    None, None, "expected a single document, found a second one", event.start_mark
                )
            continue
        else:
            continue
        if not stack:
            root = value
            continue
        if stack[-1][6]:
            on_item(value)  # type: ignore[misc]
            continue
        _attach(stack[-1], value, event)
    return root


def _attach(frame: list[Any], value: Any, event: Any) -> None:
    container = frame[0]
    if container.__class__ is list:
        container.append(value)
        return
    if frame[1] is _MISSING:
        if isinstance(value, (dict, list)):
            raise ConstructError(None, None, "a mapping key must be a plain value, not a mapping or list", event.start_mark)
        frame[1], frame[2] = value, event
        return
    key, key_event = frame[1], frame[2]
    frame[1] = _MISSING
    if key is _MERGE_KEY:
        frame[3] = (frame[3] or []) + (value if isinstance(value, list) else [value])
        return
    if key in container:
        raise ConstructError(
            "while constructing a mapping",
            None,
            f'found duplicate key "{key}"',
            key_event.start_mark,
        )
    container[key] = value


def _merge(container: dict[Any, Any], merges: list[Any]) -> None:
    """Keys of merged mappings come first; the mapping's own keys override them."""
    combined: dict[Any, Any] = {}
    for merged in merges:
        if not isinstance(merged, dict):
            raise ConstructError(None, None, "the value of '<<' must be a mapping or a list of mappings", None)
        for key, value in merged.items():
            combined.setdefault(key, value)
    combined.update(container)
    container.clear()
    container.update(combined)
