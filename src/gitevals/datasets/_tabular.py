"""Importing test cases from CSV, TSV, JSONL and JSON files, row by row, with
every bad row reported by its line number in the source file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitevals._util.words import plural
from gitevals.errors import DataError, Problem

from ._edit import EditableDataset, item_problems
from ._item import OPTIONAL_FIELDS, Dataset

__all__ = ["ColumnMap", "ImportPlan", "Row", "apply_import", "default_mapping", "detect_format", "export_text",
           "plan_import", "read_rows"]

FORMATS = ("csv", "tsv", "jsonl", "json")
EXPORT_FORMATS = ("csv", "jsonl")
_EXPECTED_NAMES = ("expected", "expected_output", "ground_truth", "answer", "output")
# Columns of gitevals' own export, read back as the item fields they came from.
_ITEM_COLUMNS = ("context", "tags", *OPTIONAL_FIELDS)


def export_text(dataset: Dataset, fmt: str) -> str:
    """The dataset as CSV or JSONL that `plan_import` reads back into the same items:
    every field an item has, the optional ones only where some item uses them.

    In CSV, a value that is not text is written as JSON; on import a cell holding
    a JSON object or array becomes that value, and any other cell stays text."""
    buffer = io.StringIO()
    if fmt == "jsonl":
        for item in dataset.items:
            record = {"id": item.id, "input": item.input, "expected": item.expected, "context": item.context}
            record.update({key: getattr(item, key) for key in OPTIONAL_FIELDS if getattr(item, key) is not None})
            buffer.write(json.dumps(record, ensure_ascii=False) + "\n")
        return buffer.getvalue()
    used = [key for key in OPTIONAL_FIELDS if any(getattr(item, key) is not None for item in dataset.items)]
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "input", "expected", "tags", "context", *used])
    for item in dataset.items:
        context = {k: v for k, v in item.context.items() if k != "tags"}
        writer.writerow([item.id, _csv_cell(item.input), _csv_cell(item.expected), ",".join(item.tags),
                         _csv_cell(context or None), *(_csv_cell(getattr(item, key)) for key in used)])
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Row:
    """One record of the source file and the line it starts on."""

    line: int
    values: dict[str, Any]
    ragged: str | None = None
    """Why the row does not fit the header, when it does not."""


@dataclass(frozen=True)
class ColumnMap:
    """Which columns make which fields of an item."""

    input_cols: Sequence[str] = ()
    expected_col: str | None = None
    id_col: str | None = None
    context_cols: Sequence[str] = ()
    tags: Sequence[str] = ()


@dataclass
class ImportPlan:
    """What an import would do: items to add or update, rows skipped, problems."""

    source: Path
    add: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    skipped_existing: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """Invalid rows, each at its line of the source file."""
    rows: int = 0

    def summary(self) -> str:
        return (f"{len(self.add)} to add, {len(self.update)} to update, {len(self.skipped_existing)} already there, "
                f"{plural(len(self.problems), 'invalid row')}")

    def commit_message(self, dataset: str, source_name: str) -> str:
        parts = [f"+{len(self.add)} imported from {source_name}"]
        if self.update:
            parts.append(f"~{len(self.update)} updated")
        if self.problems:
            parts.append(f"{plural(len(self.problems), 'invalid row')} skipped")
        return f"dataset {dataset}: " + ", ".join(parts)


def detect_format(path: Path, given: str | None) -> str:
    if given:
        return given
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    if suffix == "ndjson":
        return "jsonl"
    raise DataError(
        f"cannot tell the format of {path.name!r} from its name",
        path=path,
        hint=f"give --format ({', '.join(FORMATS)})",
    )


def read_rows(path: Path, fmt: str) -> tuple[list[str], list[Row]]:
    """The column names and the rows of a source file (UTF-8, with or without BOM)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise DataError("file not found", path=path) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=path,
                        hint="save the file as UTF-8") from None
    if fmt in ("csv", "tsv"):
        return _read_delimited(text, "," if fmt == "csv" else "\t", path)
    if fmt == "jsonl":
        return _read_jsonl(text, path)
    return _read_json_array(text, path)


def _read_delimited(text: str, delimiter: str, path: Path) -> tuple[list[str], list[Row]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError("the file is empty", path=path) from None
    except csv.Error as exc:
        raise DataError(f"the header is not valid {('CSV' if delimiter == ',' else 'TSV')}: {exc}", path=path, line=1) from None
    header = [name.strip() for name in header]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(f"the header names a column twice: {', '.join(duplicates)}", path=path, line=1)
    rows = []
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataError(f"not valid CSV: {exc}", path=path, line=line) from None
        start, line = line, reader.line_num + 1
        if not cells or not cells[0].strip() and all(not c.strip() for c in cells):  # the first cell decides most rows
            continue  # blank lines between rows
        ragged = None
        if len(cells) != len(header):
            ragged = f"has {len(cells)} cells, the header has {len(header)}"
        rows.append(Row(start, {name: _cell(value) if value[:1] in _MAYBE_JSON else value
                                for name, value in zip(header, cells, strict=False)}, ragged))
    return header, rows


# The first characters of a cell that may hold JSON (a bracket, or the whitespace
# str.strip removes; U+3000 is the last): a cell that starts otherwise stays
# text without a call, as most cells of a large file do.
_MAYBE_JSON = frozenset("{[" + "".join(c for c in map(chr, range(0x3001)) if c.isspace()))


def _cell(value: str) -> Any:
    """A cell holding a JSON object or array becomes that value; others stay text."""
    stripped = value.strip()
    if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return value


def _read_jsonl(text: str, path: Path) -> tuple[list[str], list[Row]]:
    rows, columns = [], {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            rows.append(Row(number, {}, f"is not JSON: {exc}"))
            continue
        if not isinstance(value, dict):
            rows.append(Row(number, {}, f"is a JSON {type(value).__name__}, not an object"))
            continue
        columns.update(dict.fromkeys(value))
        rows.append(Row(number, value))
    return list(columns), rows


def _read_json_array(text: str, path: Path) -> tuple[list[str], list[Row]]:
    decoder = json.JSONDecoder()
    start = len(text) - len(text.lstrip())
    if text[start:start + 1] != "[":
        raise DataError("a JSON import file must hold an array of objects", path=path, line=1, hint="or use JSONL")
    rows, columns = [], {}
    position = start + 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text):
            raise DataError("the JSON array is not closed", path=path, line=text.count("\n") + 1)
        if text[position] == "]":
            break
        line = text.count("\n", 0, position) + 1
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON: {exc.msg}", path=path, line=line) from None
        if not isinstance(value, dict):
            rows.append(Row(line, {}, f"is a JSON {type(value).__name__}, not an object"))
            continue
        columns.update(dict.fromkeys(value))
        rows.append(Row(line, value))
    return list(columns), rows


def default_mapping(columns: Sequence[str], given: ColumnMap) -> ColumnMap:
    """Fill in the columns not given from their usual names."""
    lowered = {c.lower(): c for c in columns}
    input_cols = list(given.input_cols) or ([lowered["input"]] if "input" in lowered else [])
    expected = given.expected_col or next((lowered[n] for n in _EXPECTED_NAMES if n in lowered), None)
    id_col = given.id_col or lowered.get("id")
    return ColumnMap(input_cols, expected, id_col, given.context_cols, given.tags)


def plan_import(
    dataset: EditableDataset,
    path: Path,
    mapping: ColumnMap,
    *,
    fmt: str | None = None,
    on_conflict: str = "error",
    fill_defaults: bool = True,
) -> ImportPlan:
    """Read `path` and work out what importing it into `dataset` would do.

    With `fill_defaults` off, `mapping` is taken as it is: a column left out
    stays out even when one has its usual name (a form that shows the
    defaults first and then lets the user clear one needs this)."""
    fmt = detect_format(path, fmt)
    columns, rows = read_rows(path, fmt)
    if fill_defaults:
        mapping = default_mapping(columns, mapping)
    _check_columns(mapping, columns, path)
    plan = ImportPlan(path, rows=len(rows))
    existing = set(dataset.ids)
    retired = set(dataset.retired_ids)
    taken = dataset.taken_ids()
    first_line: dict[str, int] = {}
    schemas = dataset.schemas
    mapped = {*mapping.input_cols, mapping.expected_col, mapping.id_col}
    own_cols = [col for col in _ITEM_COLUMNS if col not in mapped and col in columns]
    for row in rows:
        problems = [f"row {row.ragged}"] if row.ragged else []
        item = _item_from(row, mapping, own_cols, dataset, taken) if not problems else {}
        if item:
            problems += item_problems(item, schemas)
        item_id = str(item.get("id", ""))
        if item and item_id in first_line:
            problems.append(f"id {item_id!r} is also on line {first_line[item_id]}")
        elif item_id in retired:
            problems.append(f"id {item_id!r} belonged to a removed item and is never reused")
        elif item_id in existing and on_conflict == "error":
            problems.append(f"id {item_id!r} is already in the dataset (see --on-conflict)")
        if problems:
            plan.problems += [Problem(p, path, row.line) for p in problems]
            continue
        first_line[item_id] = row.line
        taken.add(item_id)
        if item_id in existing:
            if on_conflict == "skip":
                plan.skipped_existing.append(item_id)
            else:
                plan.update.append(item)
        else:
            plan.add.append(item)
    return plan


def apply_import(dataset: EditableDataset, plan: ImportPlan) -> None:
    """Make the plan's additions and updates in `dataset` (saved by the caller)."""
    dataset.add_items(plan.add, checked=True)  # plan_import ran item_problems on every row
    for item in plan.update:
        dataset.update(str(item["id"]), **{k: v for k, v in item.items() if k != "id"})


def _check_columns(mapping: ColumnMap, columns: Sequence[str], path: Path) -> None:
    if not mapping.input_cols:
        raise DataError(
            "no input column: none is named `input`",
            path=path,
            hint=f"choose one with --input-col (columns: {', '.join(columns) or 'none'})",
        )
    named = [*mapping.input_cols, *mapping.context_cols]
    named += [c for c in (mapping.expected_col, mapping.id_col) if c]
    missing = [c for c in named if c not in columns]
    if missing:
        raise DataError(
            f"no column named {missing[0]!r} in the file",
            path=path,
            hint=f"the columns are: {', '.join(columns) or 'none'}",
        )


def _item_from(row: Row, mapping: ColumnMap, own_cols: Sequence[str], dataset: EditableDataset,
               taken: set[str]) -> dict[str, Any]:
    """The item a row makes; `own_cols` are the item fields (`tags`, `tool_mocks`, ...)
    read from columns of their own name, those the mapping does not use otherwise."""
    values = row.values
    if len(mapping.input_cols) == 1:
        value = values.get(mapping.input_cols[0])
    else:
        value = {col: values.get(col) for col in mapping.input_cols}
    expected = values.get(mapping.expected_col) if mapping.expected_col else None
    if expected == "":
        expected = None
    own = {col: values[col] for col in own_cols if values.get(col) not in (None, "")}
    # A `context` column holding an object (gitevals' own export) is the item's context;
    # anything else in it (a RAG passage, say) is kept under the key `context`.
    context = own.pop("context", {})
    context = dict(context) if isinstance(context, dict) else {"context": context}
    context.update({col: values[col] for col in mapping.context_cols
                    if col != "context" and values.get(col) not in (None, "")})
    tags = own.pop("tags", [])
    tags = [t.strip() for t in tags.split(",") if t.strip()] if isinstance(tags, str) else [str(t) for t in tags]
    raw_id = values.get(mapping.id_col) if mapping.id_col else None
    item_id = str(raw_id).strip() if raw_id not in (None, "") else None
    return dataset.build_item(value, expected, id=item_id, context=context, tags=[*tags, *mapping.tags], taken=taken,
                              **own)
