"""Writing dataset items as YAML text a person would write, fast.

Each item becomes a block mapping (`- id: ...` then one key per line); nested
values are written in flow style (`{tags: [billing]}`). Strings stay plain when
that reads back as the same string, and are double-quoted JSON strings (valid
YAML) otherwise, so what is written always loads back as exactly the value
given. Thousands of items take milliseconds, where a YAML dumper takes seconds.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .fast import _plain_resolvers

__all__ = ["emit_item", "emit_value"]

# Plain scalars that other YAML 1.1 readers would take for booleans or nulls.
_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_BLOCK_PLAIN = re.compile(r"[A-Za-z0-9_.(/$\u00a0-\U0010ffff][^\n\r\t]*")
_BLOCK_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.(/$")  # and >= U+00A0
_FLOW_PLAIN = re.compile(r"[A-Za-z0-9_\u00a0-\U0010ffff][A-Za-z0-9 _.\-/()\u00a0-\U0010ffff]*")


# Characters YAML does not allow raw (or reads as line breaks): always escaped.
_NOT_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def _quoted(text: str) -> str:
    """A double-quoted scalar: JSON's escapes, plus \\u escapes for what YAML cannot hold raw."""
    return _NOT_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


@lru_cache(maxsize=4096)  # keys, tags and labels repeat across thousands of items
def _plain_ok(text: str, flow: bool) -> bool:
    if not text or text[0].isspace() or text[-1].isspace():
        return False
    if not flow and text.isprintable():
        # No control character, line break or tab: _BLOCK_PLAIN then holds
        # exactly when its first character does, found without a regex.
        if text[0] not in _BLOCK_FIRST and text[0] < "\u00a0":
            return False
    elif _NOT_PRINTABLE.search(text) or not (_FLOW_PLAIN if flow else _BLOCK_PLAIN).fullmatch(text):
        return False
    if ": " in text or text.endswith(":") or " #" in text:
        return False
    if len(text) <= 5 and text.lower() in _YAML11_WORDS:
        return False
    for _tag, regexp in _plain_resolvers().get(text[:1], ()):
        if regexp.match(text):
            return False  # would read back as a number, bool, null or date
    return True


def emit_value(value: Any, flow: bool = False) -> str:
    """One value as YAML text on a single line."""
    if isinstance(value, str):
        return value if _plain_ok(value, flow) else _quoted(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} cannot be written to a dataset (not JSON)")
        return json.dumps(value)
    if isinstance(value, dict) or isinstance(value, Mapping):  # a dict is found without the ABC's slower check
        parts = [f"{emit_value(str(k), True)}: {emit_value(v, True)}" for k, v in value.items()]
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(emit_value(v, True) for v in value) + "]"
    raise ValueError(f"a {type(value).__name__} cannot be written to a dataset (not JSON)")


def emit_item(item: Mapping[str, Any], indent: int) -> str:
    """An item as the lines of one list entry, its dash at column `indent`."""
    lines: list[str] = []
    lead, pad = " " * indent + "- ", " " * (indent + 2)
    for key, value in item.items():
        if value.__class__ is str:  # most values: no detour through emit_value
            text = value if _plain_ok(value, False) else _quoted(value)
        else:
            text = emit_value(value)
        lines.append(f"{pad if lines else lead}{key}: {text}")
    return "\n".join(lines) + "\n"
