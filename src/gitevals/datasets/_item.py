"""A dataset's items and the dataset they make up: content kept as canonical JSON, and the hashes
compare and the run store rely on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from gitevals._util.hashing import canonical_json, sha256_hex

__all__ = ["OPTIONAL_FIELDS", "Dataset", "DatasetItem", "make_item"]

# The item fields beside id, input, expected and context, stored as given.
OPTIONAL_FIELDS = ("expected_trajectory", "tool_mocks", "unmocked_tools", "request_context", "start_options")


class DatasetItem:
    """One test case with its content hashes.

    Input, expected and context are kept as their canonical JSON (which the
    hashes are computed from anyway) and decoded when read: a 100,000-item
    dataset then takes tens of megabytes instead of hundreds.
    """

    __slots__ = ("id", "_input", "_expected", "_context", *OPTIONAL_FIELDS)

    def __init__(
        self,
        id: str,
        input_json: str,
        expected_json: str = "null",
        context_json: str = "{}",
        expected_trajectory: Mapping[str, Any] | None = None,
        tool_mocks: Mapping[str, Any] | None = None,
        unmocked_tools: str | None = None,
        request_context: Mapping[str, Any] | None = None,
        start_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.id = id
        self._input, self._expected, self._context = input_json, expected_json, context_json
        self.expected_trajectory = expected_trajectory
        self.tool_mocks = tool_mocks
        self.unmocked_tools = unmocked_tools
        self.request_context = request_context
        self.start_options = start_options

    @property
    def input(self) -> Any:
        return json.loads(self._input)

    @property
    def expected(self) -> Any:
        return json.loads(self._expected)

    @property
    def context(self) -> dict[str, Any]:
        context: dict[str, Any] = json.loads(self._context)
        return context

    @property
    def input_hash(self) -> str:
        return sha256_hex(self._input)

    @property
    def expected_hash(self) -> str:
        return sha256_hex(self._expected)

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON of `{context, expected, expected_trajectory, input}`,
        assembled from the parts' canonical JSON (keys in sorted order)."""
        return sha256_hex(
            f'{{"context":{self._context},"expected":{self._expected},'
            f'"expected_trajectory":{canonical_json(self.expected_trajectory)},"input":{self._input}}}'
        )

    def json_parts(self) -> tuple[str, str, str]:
        """Input, expected and context as the canonical JSON they are kept in."""
        return self._input, self._expected, self._context

    @property
    def tags(self) -> list[str]:
        tags = self.context.get("tags") or []
        return [tags] if isinstance(tags, str) else [str(t) for t in tags]

    def to_dict(self) -> dict[str, Any]:
        """The item as plain data, with its hashes."""
        found = {"id": self.id, "input": self.input, "expected": self.expected, "context": self.context}
        found.update({key: getattr(self, key) for key in OPTIONAL_FIELDS})
        found.update(input_hash=self.input_hash, expected_hash=self.expected_hash, hash=self.hash)
        return found

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DatasetItem):
            return NotImplemented
        return all(getattr(self, key) == getattr(other, key) for key in self.__slots__)

    def __repr__(self) -> str:
        return f"DatasetItem(id={self.id!r}, input={self._input[:60]})"


def make_item(
    id: str,
    input: Any,
    expected: Any = None,
    context: Mapping[str, Any] | None = None,
    **fields: Any,
) -> DatasetItem:
    """A DatasetItem from plain values (which must be JSON)."""
    return DatasetItem(id, canonical_json(input), canonical_json(expected), canonical_json(dict(context or {})), **fields)


@dataclass(frozen=True)
class Dataset:
    """A named, validated list of items, as read from one file."""

    name: str
    items: tuple[DatasetItem, ...]
    description: str | None = None
    input_schema: Mapping[str, Any] | None = None
    expected_schema: Mapping[str, Any] | None = None
    path: Path | None = None
    blob_sha: str | None = None
    """Git's blob sha of the file's bytes as read."""

    @cached_property
    def hash(self) -> str:
        """sha256 over every item's id and content hash, in file order: of the
        canonical JSON of `[[id, hash], ...]`, fed piece by piece."""
        digest = hashlib.sha256(b"[")
        for index, item in enumerate(self.items):
            digest.update(("," if index else "").encode() + canonical_json([item.id, item.hash]).encode("utf-8"))
        digest.update(b"]")
        return digest.hexdigest()

    def with_tags(self, tags: Iterable[str]) -> Dataset:
        """Only the items that carry at least one of `tags` (all items when empty)."""
        wanted = set(tags)
        if not wanted:
            return self
        kept = tuple(item for item in self.items if wanted.intersection(item.tags))
        return replace(self, items=kept)

    def all_tags(self) -> list[str]:
        return sorted({tag for item in self.items for tag in item.tags})
