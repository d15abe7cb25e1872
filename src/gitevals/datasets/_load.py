"""Datasets: loading a dataset file, validating every item, and hashing content."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from gitevals._util.hashing import blob_sha
from gitevals._util.words import item_label
from gitevals._yaml.load import YamlProblem, load_yaml, locate
from gitevals._yaml.validation import validation_problems
from gitevals.errors import DataError, Problem
from gitevals.formats import ID_RE, DatasetFile, DatasetItemModel

from . import _cache
from ._item import Dataset, DatasetItem, make_item

__all__ = ["load_dataset", "parse_dataset"]

_CHECKS_BESIDE = 20
"""After a YAML error in an item, how many more times the rest of the file is checked without that item."""


def load_dataset(path: Path | str, name: str | None = None) -> Dataset:
    """Read and validate a dataset file; every problem in it is raised together.

    Inside a git repository a valid file's parsed items are kept under
    .git/gitevals/ by content, so loading it again unchanged is much faster.
    """
    path = Path(path)
    name = name or path.stem
    cache_dir = _cache.cache_dir_for(path.absolute().parent)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if cache_dir is not None:
                cached = _cache.load(cache_dir, _blob_sha_of(handle, size), name, path)
                if cached is not None:
                    return cached
                handle.seek(0)
            # The parser reads the file in chunks: the whole file is never in memory.
            reader = _HashingReader(handle, size)
            dataset = _parse(reader, path, name, path.read_bytes, reader.hexdigest)
    except FileNotFoundError:
        raise DataError("file not found", path=path) from None
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror}", path=path) from None
    if cache_dir is not None:
        _cache.store(cache_dir, dataset)
    return dataset


def _blob_sha_of(handle: BinaryIO, size: int) -> str:
    reader = _HashingReader(handle, size)
    while reader.read(1 << 20):
        pass
    return reader.hexdigest()


def parse_dataset(raw: bytes, path: Path | str, name: str) -> Dataset:
    """Validate a dataset file's bytes; `path` names them in messages (and may be
    `file@commit` for a version read from git history)."""
    return _parse(raw, path, name, lambda: raw, lambda: blob_sha(raw))


class _HashingReader:
    """A binary file that computes git's blob sha of what is read through it."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._sha = hashlib.sha1(b"blob %d\0" % size)
        self.name = handle.name

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._sha.update(data)
        return data

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def _parse(
    source: bytes | _HashingReader, path: Path | str, name: str,
    get_raw: Callable[[], bytes], get_sha: Callable[[], str], *, checks_beside: int = _CHECKS_BESIDE,
) -> Dataset:
    """Items are validated and stored compactly one by one as the parser hands
    them over, so the whole document never sits in memory as Python objects."""
    collector = _ItemCollector(path, get_raw)
    try:
        data = load_yaml(source, path, on_item=collector)
    except YamlProblem as exc:
        beside = _problems_beside(get_raw(), path, name, exc, checks_beside) if checks_beside else []
        found = {(p.line, p.col, p.message): p for p in [exc.problem, *beside]}  # one error may be seen twice
        raise DataError(problems=_sorted(list(found.values()))) from None
    sha = get_sha()
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
    problems = collector.problems + _schema_problems(data, collector, path)
    try:
        parsed = DatasetFile.model_validate(data)  # the top-level keys; items were checked one by one
    except ValidationError as exc:
        problems += validation_problems(exc, DatasetFile, path, collector.text)
        raise DataError(problems=_sorted(problems)) from None
    if problems:
        raise DataError(problems=_sorted(problems))
    return Dataset(
        name=name,
        items=tuple(collector.items),
        description=parsed.description,
        input_schema=parsed.input_schema,
        expected_schema=parsed.expected_schema,
        path=path if isinstance(path, Path) else None,
        blob_sha=sha,
    )


def _problems_beside(raw: bytes, path: Path | str, name: str, broken: YamlProblem, checks_left: int) -> list[Problem]:
    """What is wrong in the rest of a file whose YAML breaks inside its items, as
    a linter reports everything it can: the file is checked again with the
    broken items' lines left blank, so every other line keeps its number.
    Nothing when the error is outside the items or no other item is left."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return []
    lines = text.splitlines(keepends=True)
    span = _item_lines(lines, broken.first_line, broken.problem.line)
    if span is None:
        return []
    start, end = span
    blanked = "".join(lines[:start]) + "\n" * (end - start) + "".join(lines[end:])
    data = blanked.encode("utf-8")
    try:
        _parse(data, path, name, lambda: data, lambda: blob_sha(data), checks_beside=checks_left - 1)
    except DataError as exc:
        return exc.problems
    return []


_ITEMS_KEY = re.compile(r"items\s*:\s*(#.*)?$")
_DASH = re.compile(r"( *)- ")


def _item_lines(lines: list[str], first: int | None, last: int | None) -> tuple[int, int] | None:
    """The 0-based [start, end) lines of the entries of the block list `items:`
    that hold 1-based lines `first` to `last`, when other entries are left."""
    if first is None or last is None:
        return None
    key = next((n for n, text in enumerate(lines) if _ITEMS_KEY.match(text)), None)
    if key is None or first - 1 <= key:
        return None
    dash = next((m for text in lines[key + 1:] if (m := _DASH.match(text))), None)
    if dash is None:
        return None
    indent = dash.group(1) + "- "
    starts = []
    for n in range(key + 1, len(lines)):
        text = lines[n]
        if text.startswith(indent):
            starts.append(n)
        elif text.strip() and not text.startswith((" ", "#")) and n > key + 1:
            break  # the next top-level key: the list ended
    else:
        n = len(lines)
    starts.append(n)
    held = [(begin, after) for begin, after in zip(starts, starts[1:], strict=False)
            if begin <= last - 1 and first - 1 < after]
    if not held or len(held) == len(starts) - 1 or not starts[0] <= first - 1 < starts[-1]:
        return None  # outside the items, or no item left to check
    return held[0][0], held[-1][1]


class _ItemCollector:
    """Checks each item as the parser hands it over and keeps it compactly."""

    def __init__(self, path: Path | str, get_raw: Callable[[], bytes]) -> None:
        self.path, self._get_raw = path, get_raw
        self.items: list[DatasetItem] = []
        self.indices: list[int] = []
        """The position of each kept item in the file's list."""
        self.problems: list[Problem] = []
        self.rejected: list[tuple[int, dict[str, Any]]] = []
        """Items that failed the model check, kept raw so the schemas still check their values."""
        self._first_seen: dict[str, int] = {}
        self._count = 0

    @cached_property
    def text(self) -> str:
        """The file's text, decoded only when a problem needs a line and column."""
        return self._get_raw().decode("utf-8-sig")

    def __call__(self, raw: Any) -> None:
        index = self._count
        self._count += 1
        if isinstance(raw, dict):
            self.problems += self._id_problems(raw.get("id"), index)
        try:
            model = DatasetItemModel.model_validate(raw)
        except ValidationError as exc:
            label = item_label(raw.get("id") if isinstance(raw, dict) else None, index + 1)
            self.problems += validation_problems(exc, DatasetFile, self.path, self.text, prefix=("items", index),
                                                 label=label)
            if isinstance(raw, dict):
                self.rejected.append((index, raw))
            return
        if model.id is None:  # reported by _id_problems; kept raw, never as an item named 'None'
            self.rejected.append((index, raw))
            return
        self.items.append(
            make_item(
                str(model.id),
                model.input,
                model.expected,
                model.context,
                expected_trajectory=model.expected_trajectory.model_dump(exclude_none=True)
                if model.expected_trajectory else None,
                tool_mocks=model.tool_mocks,
                unmocked_tools=model.unmocked_tools,
                request_context=model.request_context,
                start_options=model.start_options,
            )
        )
        self.indices.append(index)

    def _id_problems(self, item_id: Any, index: int) -> list[Problem]:
        """A missing, malformed or duplicate id, at its item."""
        if item_id is None:
            line, col = locate(self.text, ("items", index))
            return [Problem(f"{item_label(None, index + 1)} has no id", self.path, line, col,
                            "add `id: <a-stable-name>` (letters, digits, '.', '_' or '-')")]
        item_id = str(item_id)
        if not ID_RE.fullmatch(item_id):
            line, col = locate(self.text, ("items", index, "id"))
            return [Problem(f"id {item_id!r} has characters outside [A-Za-z0-9._-]", self.path, line, col,
                            f"use an id like {_slug(item_id)!r}")]
        if item_id in self._first_seen:
            line, col = locate(self.text, ("items", index, "id"))
            first_line, _ = locate(self.text, ("items", self._first_seen[item_id], "id"))
            return [Problem(f"duplicate id {item_id!r} (first used on line {first_line})", self.path, line, col,
                            "ids must be unique in the file; rename one of them")]
        self._first_seen[item_id] = index
        return []


def _schema_problems(data: dict[str, Any], collector: _ItemCollector, path: Path | str) -> list[Problem]:
    """Items whose input or expected break the dataset's JSON Schemas (checked
    even when other keys of the file are wrong, so that all is reported at once)."""
    checks = [(key, data.get(f"{key}_schema")) for key in ("input", "expected")]
    checks = [(key, schema) for key, schema in checks if isinstance(schema, dict)]
    if not checks:
        return []
    import jsonschema  # only datasets with schemas pay for the import

    problems = []
    for key, schema in checks:
        validator_cls = jsonschema.validators.validator_for(schema)
        try:
            validator_cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            line, col = locate(collector.text, (f"{key}_schema", *exc.path))
            problems.append(Problem(f"{key}_schema is not a valid JSON Schema: {exc.message}", path, line, col))
            continue
        validator = validator_cls(schema)
        for index, item_id, value in _checkable_values(collector, key):
            if value is None:
                continue  # a missing input is reported by the model check
            error = jsonschema.exceptions.best_match(validator.iter_errors(value))
            if error is None:
                continue
            inner = list(error.absolute_path)
            line, col = locate(collector.text, ("items", index, key, *inner))
            where = key + "".join(f"[{p!r}]" for p in inner)
            problems.append(
                Problem(
                    f"{item_label(item_id, index + 1)}: {where} breaks {key}_schema: {error.message}",
                    path,
                    line,
                    col,
                    f"change the value or the dataset's {key}_schema",
                )
            )
    return problems


def _checkable_values(collector: _ItemCollector, key: str) -> list[tuple[int, Any, Any]]:
    """(position, id, value of `key`) of every item, in file order, also those
    rejected for another reason: an unknown key must not hide a schema break."""
    kept = [(index, item.id, getattr(item, key)) for index, item in zip(collector.indices, collector.items, strict=True)]
    rejected = [(index, raw.get("id"), raw.get(key)) for index, raw in collector.rejected]
    return sorted(kept + rejected, key=lambda entry: entry[0])


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "item"


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line or 0, p.col or 0))
