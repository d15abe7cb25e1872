"""Datasets: loading a dataset file, validating every item, and hashing content."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ._hashing import blob_sha, canonical_json, content_hash, sha256_hex
from ._validation import parse_yaml_bytes, validation_problems
from ._yaml import locate
from .errors import DataError, Problem
from .models import DatasetFile

__all__ = ["Dataset", "DatasetItem", "load_dataset", "make_item", "parse_dataset"]

_ID_RE = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class DatasetItem:
    """One test case with its content hashes."""

    id: str
    input: Any
    expected: Any = None
    context: Mapping[str, Any] = field(default_factory=dict)
    expected_trajectory: Mapping[str, Any] | None = None
    tool_mocks: Mapping[str, Any] | None = None
    unmocked_tools: str | None = None
    request_context: Mapping[str, Any] | None = None
    start_options: Mapping[str, Any] | None = None
    input_hash: str = ""
    expected_hash: str = ""
    hash: str = ""

    @property
    def tags(self) -> list[str]:
        tags = self.context.get("tags") or []
        return [tags] if isinstance(tags, str) else [str(t) for t in tags]


def make_item(
    id: str,
    input: Any,
    expected: Any = None,
    context: Mapping[str, Any] | None = None,
    expected_trajectory: Mapping[str, Any] | None = None,
    **fields: Any,
) -> DatasetItem:
    """A DatasetItem with its hashes computed.

    `hash` is the sha256 of the canonical JSON of `{context, expected,
    expected_trajectory, input}`; that text is assembled from the parts'
    canonical JSON (keys in sorted order) so each part is serialised once.
    """
    context = context or {}
    input_json, expected_json = canonical_json(input), canonical_json(expected)
    whole = (
        f'{{"context":{canonical_json(context)},"expected":{expected_json},'
        f'"expected_trajectory":{canonical_json(expected_trajectory)},"input":{input_json}}}'
    )
    return DatasetItem(
        id=id,
        input=input,
        expected=expected,
        context=context,
        expected_trajectory=expected_trajectory,
        input_hash=sha256_hex(input_json),
        expected_hash=sha256_hex(expected_json),
        hash=sha256_hex(whole),
        **fields,
    )


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

    @property
    def hash(self) -> str:
        """sha256 over every item's id and content hash, in file order."""
        return content_hash([[item.id, item.hash] for item in self.items])

    def with_tags(self, tags: Iterable[str]) -> Dataset:
        """Only the items that carry at least one of `tags` (all items when empty)."""
        wanted = set(tags)
        if not wanted:
            return self
        kept = tuple(item for item in self.items if wanted.intersection(item.tags))
        return replace(self, items=kept)

    def all_tags(self) -> list[str]:
        return sorted({tag for item in self.items for tag in item.tags})


def load_dataset(path: Path | str, name: str | None = None) -> Dataset:
    """Read and validate a dataset file; every problem in it is raised together."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError("file not found", path=path) from None
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror}", path=path) from None
    return parse_dataset(raw, path, name or path.stem)


def parse_dataset(raw: bytes, path: Path | str, name: str) -> Dataset:
    """Validate a dataset file's bytes; `path` names them in messages (and may be
    `file@commit` for a version read from git history)."""
    text, data = parse_yaml_bytes(raw, path, DataError)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DataError(
            "a dataset file is a mapping with an `items:` list",
            path=path,
            line=1,
            col=1,
            hint="start the file with `items:` and list the test cases under it",
        )
    problems = _id_problems(data.get("items"), path, text) + _schema_problems(data, path, text)
    try:
        parsed = DatasetFile.model_validate(data)
    except ValidationError as exc:
        problems += validation_problems(exc, DatasetFile, path, text)
        raise DataError(problems=_sorted(problems)) from None
    if problems:
        raise DataError(problems=_sorted(problems))
    items = tuple(
        make_item(
            id=str(raw.id),
            input=raw.input,
            expected=raw.expected,
            context=raw.context,
            expected_trajectory=raw.expected_trajectory,
            tool_mocks=raw.tool_mocks,
            unmocked_tools=raw.unmocked_tools,
            request_context=raw.request_context,
            start_options=raw.start_options,
        )
        for raw in parsed.items
    )
    return Dataset(
        name=name,
        items=items,
        description=parsed.description,
        input_schema=parsed.input_schema,
        expected_schema=parsed.expected_schema,
        path=path if isinstance(path, Path) else None,
        blob_sha=blob_sha(raw),
    )


def _id_problems(items: Any, path: Path | str, text: str) -> list[Problem]:
    """Missing, malformed and duplicate ids, each at its item."""
    if not isinstance(items, list):
        return []
    problems = []
    first_seen: dict[str, int] = {}
    for index, raw in enumerate(items):
        if not isinstance(raw, dict):
            continue
        item_id = raw.get("id")
        if item_id is None:
            line, col = locate(text, ("items", index))
            problems.append(
                Problem(
                    f"item {index + 1} has no id",
                    path,
                    line,
                    col,
                    "add `id: <a-stable-name>` (letters, digits, '.', '_' or '-')",
                )
            )
            continue
        item_id = str(item_id)
        if not _ID_RE.fullmatch(item_id):
            line, col = locate(text, ("items", index, "id"))
            problems.append(
                Problem(
                    f"id {item_id!r} has characters outside [A-Za-z0-9._-]",
                    path,
                    line,
                    col,
                    f"use an id like {_slug(item_id)!r}",
                )
            )
        elif item_id in first_seen:
            line, col = locate(text, ("items", index, "id"))
            first_line, _ = locate(text, ("items", first_seen[item_id], "id"))
            problems.append(
                Problem(
                    f"duplicate id {item_id!r} (first used on line {first_line})",
                    path,
                    line,
                    col,
                    "ids must be unique in the file; rename one of them",
                )
            )
        else:
            first_seen[item_id] = index
    return problems


def _schema_problems(data: dict[str, Any], path: Path | str, text: str) -> list[Problem]:
    """Items whose input or expected break the dataset's JSON Schemas.

    Works on the raw data so that these are reported along with every other
    problem of the file, not after they are fixed.
    """
    items = data.get("items")
    checks = [(key, data.get(f"{key}_schema")) for key in ("input", "expected")]
    checks = [(key, schema) for key, schema in checks if isinstance(schema, dict)]
    if not checks or not isinstance(items, list):
        return []
    import jsonschema  # only datasets with schemas pay for the import

    problems = []
    for key, schema in checks:
        validator_cls = jsonschema.validators.validator_for(schema)
        try:
            validator_cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            line, col = locate(text, (f"{key}_schema", *exc.path))
            problems.append(
                Problem(f"{key}_schema is not a valid JSON Schema: {exc.message}", path, line, col)
            )
            continue
        validator = validator_cls(schema)
        for index, raw in enumerate(items):
            if not isinstance(raw, dict) or raw.get(key) is None:
                continue  # a missing input is reported by the model check
            error = jsonschema.exceptions.best_match(validator.iter_errors(raw[key]))
            if error is None:
                continue
            inner = list(error.absolute_path)
            line, col = locate(text, ("items", index, key, *inner))
            where = key + "".join(f"[{p!r}]" for p in inner)
            problems.append(
                Problem(
                    f"item {raw.get('id') or index + 1}: {where} breaks {key}_schema: {error.message}",
                    path,
                    line,
                    col,
                    f"change the value or the dataset's {key}_schema",
                )
            )
    return problems


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "item"


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line or 0, p.col or 0))
