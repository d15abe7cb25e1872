"""Where things are in a dataset file's text, so edits can be spliced in.

Editing by splicing text, rather than loading and dumping the whole document,
keeps every untouched byte (comments, quoting, blank lines) exactly as it was,
and costs one pass of the C parser instead of a round-trip of the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

__all__ = ["ItemSpan", "Layout", "KeySpan", "layout"]


@dataclass
class ItemSpan:
    """One entry of the `items:` list."""

    start: int
    """Index of the item's first token (its first key, for a mapping)."""
    end: int
    """Index just after its last token."""
    is_mapping: bool
    flow: bool
    """Written as `{...}` on its line."""
    id: str | None = None
    """The value of the item's `id` key, as written."""


@dataclass
class KeySpan:
    """A top-level key and its value."""

    key_start: int
    value_start: int
    value_end: int
    value_kind: str
    """`block`, `flow` or `scalar`."""


@dataclass
class Layout:
    """The positions an editor needs: top-level keys and each item of `items:`."""

    keys: dict[str, KeySpan] = field(default_factory=dict)
    items: list[ItemSpan] = field(default_factory=list)
    items_block: bool = True
    """False when `items:` is a flow list such as `[]` or `[{...}, ...]`."""


def layout(text: str) -> Layout:
    """Positions of the top-level keys and of each item, from one parser pass.

    The text must already be known to parse (see `_yaml.load_yaml`).
    """
    from _ruamel_yaml import CParser  # ruamel.yaml's C parser (ruamel.yaml.clib)

    parser = CParser(text)
    found = Layout()
    stack: list[bool] = []  # one entry per open collection: is it flow style?
    expect_key = False
    key: Any = None
    key_start = 0
    current: KeySpan | None = None
    item: ItemSpan | None = None
    item_key: Any = None  # the pending key inside an item mapping (depth 3)
    try:
        while True:
            event = parser.get_event()
            if event is None:
                break
            kind = event.__class__
            depth = len(stack)
            if kind is MappingStartEvent or kind is SequenceStartEvent:
                if depth == 1 and not expect_key:
                    current = _value_start(found, key, key_start, event)
                    if key == "items" and kind is SequenceStartEvent:
                        found.items_block = not event.flow_style
                elif depth == 2 and current is not None and key == "items":
                    item = ItemSpan(event.start_mark.index, event.end_mark.index, kind is MappingStartEvent,
                                    bool(event.flow_style))
                    found.items.append(item)
                    item_key = None
                elif depth == 3 and item is not None and item.is_mapping:
                    item_key = "" if item_key is None else None  # a collection as key or value
                stack.append(bool(event.flow_style))
                if depth == 0:
                    expect_key = True
                continue
            if kind is MappingEndEvent or kind is SequenceEndEvent:
                flow = stack.pop()
                depth = len(stack)
                if flow:  # a block collection's end mark is where the next token starts: not content
                    end = event.end_mark.index
                    if item is not None:
                        item.end = max(item.end, end)
                    if current is not None:
                        current.value_end = max(current.value_end, end)
                if depth == 2:
                    item = None  # the item's own collection closed
                elif depth == 1:
                    expect_key, current = True, None  # a top-level value closed
                continue
            if kind is ScalarEvent or kind is AliasEvent:
                end = event.end_mark.index
                if depth == 1:
                    if expect_key:
                        key, key_start, expect_key = getattr(event, "value", None), event.start_mark.index, False
                    else:
                        span = _value_start(found, key, key_start, event)
                        span.value_end = end
                        expect_key = True
                    continue
                if current is not None:
                    current.value_end = max(current.value_end, end)
                if depth == 2 and key == "items":
                    item = ItemSpan(event.start_mark.index, end, False, False)
                    found.items.append(item)
                    item = None
                elif item is not None:
                    item.end = max(item.end, end)
                    if depth == 3 and item.is_mapping:
                        if item_key is None:
                            item_key = getattr(event, "value", "")
                        else:
                            if item_key == "id" and kind is ScalarEvent:
                                item.id = event.value
                            item_key = None
    finally:
        parser.dispose()
    return found


def _value_start(found: Layout, key: Any, key_start: int, event: Any) -> KeySpan:
    if isinstance(event, ScalarEvent):
        kind = "scalar"
    else:
        kind = "flow" if event.flow_style else "block"
    span = KeySpan(key_start, event.start_mark.index, event.end_mark.index, kind)
    found.keys[str(key)] = span
    return span
