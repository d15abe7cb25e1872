"""Editing dataset files: add, update and remove items, assign ids, save.

Every edit is a splice of the file's text at positions the C parser reports,
so the parts of a hand-written file that an edit does not touch (comments,
key order, quoting, blank lines) stay byte for byte as they were. Adding items
appends them after the last item without re-emitting the file, which keeps a
10,000-item file's edit well under a second. Saving validates the result and
replaces the file atomically: a failed edit leaves the file as it was.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from ruamel.yaml.error import YAMLError

from gitevals._util.fs import atomic_write
from gitevals._util.hashing import canonical_json
from gitevals._util.locks import locked
from gitevals._yaml.emit import emit_item, emit_value
from gitevals._yaml.layout import ItemSpan, Layout, layout
from gitevals._yaml.load import YamlProblem, load_yaml, parse_problem
from gitevals.errors import DataError, NotFoundError, Problem
from gitevals.formats import ID_RE, DatasetItemModel

from ._item import Dataset
from ._load import parse_dataset

if TYPE_CHECKING:
    from gitevals.project import Project

__all__ = ["EditableDataset", "create_dataset", "dataset_file", "item_problems", "new_id", "versioned_edit"]

SCHEMA_HEADER = "# yaml-language-server: $schema={schema}\n"
_KEY_ORDER = ("id", "input", "expected", "context", "expected_trajectory", "tool_mocks", "unmocked_tools",
              "request_context", "start_options")


def new_id(value: Any, taken: set[str]) -> str:
    """A readable id: a slug of `value` when short and free, else a slug with a random suffix."""
    text = value if isinstance(value, str) else canonical_json(value)
    slug = "-".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split()[:6])[:40].strip("-")
    if slug and len(text) <= 60 and slug not in taken:
        return slug
    base = slug[:24].strip("-") or "item"
    while True:
        candidate = f"{base}-{secrets.token_hex(3)}"
        if candidate not in taken:
            return candidate


def item_problems(item: Mapping[str, Any], schemas: Mapping[str, Any]) -> list[str]:
    """What is wrong with one item on its own: its keys, its id, its JSON Schemas."""
    problems = []
    try:
        DatasetItemModel.model_validate(dict(item))
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            problems.append(f"{where}: {err['msg']}" if where else err["msg"])
    item_id = item.get("id")
    if item_id is not None and not ID_RE.fullmatch(str(item_id)):
        problems.append(f"id {item_id!r} has characters outside [A-Za-z0-9._-]")
    for key in ("input", "expected"):
        schema = schemas.get(f"{key}_schema")
        value = item.get(key)
        if schema is None or value is None:
            continue
        import jsonschema

        error = jsonschema.exceptions.best_match(jsonschema.validators.validator_for(schema)(schema).iter_errors(value))
        if error is not None:
            problems.append(f"{key} breaks {key}_schema: {error.message}")
    if item.get("input") in (None, ""):
        problems.append("input is empty")
    return problems


class EditableDataset:
    """A dataset file opened for editing. Changes stay in memory until `save`."""

    def __init__(self, path: Path, text: str, name: str | None = None, read: bytes | None = None) -> None:
        self.path = path
        self.name = name or path.stem
        self._only_appended = True
        self._read = read
        """The file's bytes when it was opened (None: a new file), to catch a change made meanwhile."""
        self._set_text(text)

    # --- opening --------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, name: str | None = None) -> EditableDataset:
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError("dataset file not found", path=path) from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=path,
                            hint="save the file as UTF-8") from None
        return cls(path, text, name, read=raw)

    @classmethod
    def create(
        cls,
        path: Path | str,
        *,
        description: str | None = None,
        input_schema: Mapping[str, Any] | None = None,
        expected_schema: Mapping[str, Any] | None = None,
        schema_ref: str | None = None,
    ) -> EditableDataset:
        """A new, empty dataset file (written by `save`); refuses to replace one."""
        path = Path(path)
        if path.exists():
            raise DataError("a dataset file is already there", path=path, hint="edit it, or choose another name")
        lines = [SCHEMA_HEADER.format(schema=schema_ref)] if schema_ref else []
        if description:
            lines.append(f"description: {emit_value(description)}\n")
        for key, schema in (("input_schema", input_schema), ("expected_schema", expected_schema)):
            if schema is not None:
                lines.append(f"{key}: {emit_value(dict(schema))}\n")
        lines.append("items: []\n")
        editor = cls(path, "".join(lines))
        # The header is checked now, while it is small; items added to it are
        # checked one by one, so saving never has to parse the whole file again.
        editor.validate()
        return editor

    # --- reading --------------------------------------------------------------

    @property
    def items(self) -> list[dict[str, Any]]:
        items = self._data().get("items") or []
        return [item for item in items if isinstance(item, dict)]

    @property
    def ids(self) -> list[str]:
        # From the parser's positions pass: adding to a large file never builds its items.
        return [span.id for span in self._layout().items if span.id is not None]

    @property
    def retired_ids(self) -> list[str]:
        return [str(i) for i in self._top_level("retired_ids") or []]

    def taken_ids(self) -> set[str]:
        return set(self.ids) | set(self.retired_ids)

    @property
    def schemas(self) -> dict[str, Any]:
        found = {key: self._top_level(key) for key in ("input_schema", "expected_schema")}
        return {key: value for key, value in found.items() if value}

    def item(self, item_id: str) -> dict[str, Any]:
        for item in self.items:
            if str(item.get("id")) == item_id:
                return item
        raise NotFoundError(f"no item {item_id!r} in {self.name}", path=self.path)

    # --- editing --------------------------------------------------------------

    def build_item(
        self,
        input: Any,
        expected: Any = None,
        *,
        id: str | None = None,
        context: Mapping[str, Any] | None = None,
        tags: Sequence[str] = (),
        taken: set[str] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """An item mapping in the usual key order, with a new id when none is given."""
        taken = self.taken_ids() if taken is None else taken
        context = dict(context or {})
        if tags:
            existing = context.get("tags") or []
            context["tags"] = list(dict.fromkeys([*existing, *tags]))
        item: dict[str, Any] = {"id": id or new_id(input, taken), "input": input}
        if expected is not None:
            item["expected"] = expected
        if context:
            item["context"] = context
        item.update({key: value for key, value in fields.items() if value is not None})
        return item

    def add(self, input: Any, expected: Any = None, **options: Any) -> str:
        """Add one item; returns its id."""
        item = self.build_item(input, expected, **options)
        self.add_items([item])
        return str(item["id"])

    def add_items(self, items: Sequence[Mapping[str, Any]], *, checked: bool = False) -> None:
        """Append items after the last one. Each is checked first (its ids
        always; its keys and schemas unless `checked` says `item_problems`
        already found nothing); nothing is added when one is wrong."""
        taken = self.taken_ids()
        schemas = self.schemas
        problems = []
        for item in items:
            item_id = str(item.get("id"))
            found = [] if checked else item_problems(item, schemas)
            if item.get("id") is None:
                found.append("no id")
            elif item_id in taken:
                retired = item_id in self.retired_ids
                found.append(f"id {item_id!r} {'belonged to a removed item' if retired else 'is already used'}")
            taken.add(item_id)
            problems += [Problem(f"item {item_id}: {message}", self.path) for message in found]
        if problems:
            raise DataError(problems=problems)
        if not items:
            return
        spans = self._layout()
        indent = self._dash_column(spans.items) if spans.items else 2
        # emit_item writes what reads back as the same value (a property test holds it to that)
        emitted = "".join(emit_item(_ordered(item), indent) for item in items)
        self._set_text(self._insert_items(emitted))

    def update(self, item_id: str, **changes: Any) -> None:
        """Replace fields of one item (None removes a field); the item is rewritten."""
        index, span = self._find(item_id)
        item = dict(self.items[index])
        for key, value in changes.items():
            if value is None:
                item.pop(key, None)
            else:
                item[key] = value
        found = item_problems(item, self.schemas)
        if str(item.get("id")) != item_id and str(item.get("id")) in self.taken_ids():
            found.append(f"id {item.get('id')!r} is already used")
        if found:
            raise DataError(problems=[Problem(f"item {item_id}: {m}", self.path) for m in found])
        start, end = self._span_lines(span)
        self._splice(start, end, emit_item(_ordered(item), self._dash_column([span])))

    def remove(self, ids: Iterable[str]) -> list[str]:
        """Remove items; their ids are kept in `retired_ids` so they are never reused."""
        wanted = list(dict.fromkeys(ids))
        missing = [i for i in wanted if i not in self.ids]
        if missing:
            raise NotFoundError(
                f"no item {', '.join(repr(m) for m in missing)} in {self.name}",
                path=self.path,
                hint="list the ids with `gitevals dataset show NAME`",
            )
        for item_id in wanted:
            _, span = self._find(item_id)
            start, end = self._span_lines(span, with_comments_above=True)
            self._splice(start, end, "")
        if not self.items:
            self._set_top_level("items", "[]")
        self._set_top_level("retired_ids", emit_value(list(dict.fromkeys(self.retired_ids + wanted))))
        return wanted

    def fix_ids(self) -> list[str]:
        """Give every item without an id a new one, in place; returns the new ids."""
        spans = self._layout().items
        taken = self.taken_ids()
        inserts: list[tuple[int, str]] = []
        assigned = []
        for raw, span in zip(self._data().get("items") or [], spans, strict=False):
            if not isinstance(raw, dict) or raw.get("id") is not None or not span.is_mapping:
                continue
            item_id = new_id(raw.get("input", ""), taken)
            taken.add(item_id)
            assigned.append(item_id)
            if span.flow:
                inserts.append((span.start + 1, f"id: {item_id}, "))
            else:
                column = span.start - self.text.rfind("\n", 0, span.start) - 1
                inserts.append((span.start, f"id: {item_id}\n{' ' * column}"))
        text = self.text
        for position, insert in reversed(inserts):
            text = text[:position] + insert + text[position:]
        if assigned:
            self._replace_text(text)
        return assigned

    # --- saving ---------------------------------------------------------------

    def validate(self) -> Dataset:
        """The dataset the current text describes; raises DataError listing every problem."""
        return parse_dataset(self.text.encode("utf-8"), self.path, self.name)

    def save(self) -> None:
        """Write the file atomically, holding its lock. The whole file is validated
        first unless the only edits were appends of items already checked one
        by one. A file changed since it was opened (by another process, or a
        person's editor) is refused, never overwritten."""
        if not self._only_appended:
            self.validate()
        with locked(self.path):
            self._refuse_changed_meanwhile()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, self.text)
        self._read = self.text.encode("utf-8")

    def _refuse_changed_meanwhile(self) -> None:
        try:
            now: bytes | None = self.path.read_bytes()
        except FileNotFoundError:
            now = None
        if now == self._read:
            return
        what = "was created" if self._read is None else "was deleted" if now is None else "changed"
        raise DataError(f"the file {what} since this edit read it (another gitevals process, or an editor); "
                        "nothing was written", path=self.path, hint="run the edit again on the file as it is now")

    # --- text surgery ---------------------------------------------------------

    def _set_text(self, text: str) -> None:
        self.text = text
        self._parsed: dict[str, Any] | None = None
        self._positions: Layout | None = None

    def _data(self) -> dict[str, Any]:
        """The whole document as plain data (parsed on first use)."""
        if self._parsed is None:
            try:
                data = load_yaml(self.text, self.path) if self.text.strip() else {}
            except YamlProblem as exc:
                raise DataError(
                    f"this edit would leave the file unreadable: {exc.problem.message}",
                    path=self.path,
                    hint="an item that others refer to with an alias (*name) cannot be removed or rewritten; "
                    "write the shared value out in place of the alias first",
                ) from None
            self._parsed = data if isinstance(data, dict) else {}
        return self._parsed

    def _layout(self) -> Layout:
        if self._positions is None:
            try:
                self._positions = layout(self.text)
            except YAMLError as exc:
                raise DataError(problems=[parse_problem(exc, self.path)]) from None
        return self._positions

    def _top_level(self, key: str) -> Any:
        """One top-level value, read from its own lines (cheap in a large file)."""
        if self._parsed is not None:
            return self._parsed.get(key)
        span = self._layout().keys.get(key)
        if span is None:
            return None
        return load_yaml(self.text[span.key_start:_line_after(self.text, span.value_end)], self.path).get(key)

    def _replace_text(self, text: str) -> None:
        self._set_text(text)
        self._only_appended = False

    def _splice(self, start: int, end: int, insert: str) -> None:
        self._replace_text(self.text[:start] + insert + self.text[end:])

    def _find(self, item_id: str) -> tuple[int, ItemSpan]:
        found = self._layout()
        for index, raw in enumerate(self._data().get("items") or []):
            if isinstance(raw, dict) and str(raw.get("id")) == item_id:
                span = found.items[index]
                if not found.items_block:
                    raise DataError(
                        "`items:` is written as a flow list ([...]); gitevals edits block lists only",
                        path=self.path,
                        hint="rewrite the list with one `- ` entry per item",
                    )
                return index, span
        raise NotFoundError(f"no item {item_id!r} in {self.name}", path=self.path)

    def _dash_column(self, spans: Sequence[ItemSpan]) -> int:
        dash = self._dash_index(spans[0])
        return dash - self.text.rfind("\n", 0, dash) - 1

    def _dash_index(self, span: ItemSpan) -> int:
        index = span.start - 1
        while index >= 0 and self.text[index] in " \t\r\n":
            index -= 1
        return index if index >= 0 and self.text[index] == "-" else span.start

    def _span_lines(self, span: ItemSpan, with_comments_above: bool = False) -> tuple[int, int]:
        """The whole lines an item occupies (and the comment lines just above it)."""
        text = self.text
        start = text.rfind("\n", 0, self._dash_index(span)) + 1
        if with_comments_above:
            column = self._dash_index(span) - start
            while start > 0:
                above = text.rfind("\n", 0, start - 1) + 1
                line = text[above:start]
                if not line.lstrip().startswith("#") or len(line) - len(line.lstrip()) != column:
                    break
                start = above
        end = _line_after(text, span.end)
        # A block scalar (`|`) takes the blank lines after it; they are layout, not the item.
        while end > start:
            line_start = text.rfind("\n", 0, end - 1) + 1
            if text[line_start:end].strip():
                break
            end = line_start
        return start, end

    def _insert_items(self, emitted: str) -> str:
        """The text with `emitted` items appended to the `items:` list."""
        text = self.text
        spans = self._layout()
        key = spans.keys.get("items")
        if key is None:
            return text + ("" if text.endswith("\n") or not text else "\n") + "items:\n" + emitted
        if spans.items and not spans.items_block:
            raise DataError(
                "`items:` is written as a flow list ([...]); gitevals appends to block lists only",
                path=self.path,
                hint="rewrite the list with one `- ` entry per item",
            )
        if spans.items:
            position = _line_after(text, spans.items[-1].end)
            prefix = "" if position == 0 or text[position - 1] == "\n" else "\n"
            return text[:position] + prefix + emitted + text[position:]
        # `items:` with no entries (`items: []`, `items:` or `items: ~`): make it a block list.
        line_start = text.rfind("\n", 0, key.key_start) + 1
        line_end = _end_of_line(text, key.key_start)
        comment = text[line_start:line_end].partition("#")[2].strip()
        head = text[line_start:key.key_start] + "items:" + (f"  # {comment}" if comment else "") + "\n"
        return text[:line_start] + head + emitted + text[line_end:]

    def _set_top_level(self, key: str, value_text: str) -> None:
        """Set a top-level key to a one-line value, adding the key at the end when absent."""
        spans = self._layout().keys
        found = spans.get(key)
        if found is None:
            text = self.text if self.text.endswith("\n") else self.text + "\n"
            self._replace_text(text + f"{key}: {value_text}\n")
            return
        if found.value_kind == "block":
            end = _line_after(self.text, found.value_end)
            self._splice(found.key_start, end, f"{key}: {value_text}\n")
        elif found.value_start == found.value_end:  # `key:` with nothing after it
            end = _end_of_line(self.text, found.key_start)
            self._splice(found.key_start, end, f"{key}: {value_text}\n")
        else:
            self._splice(found.value_start, found.value_end, value_text)


def _ordered(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The item with its keys in the usual order (`id`, `input`, `expected`, ...)."""
    keys = tuple(item)
    order = _key_order(keys)
    return item if order == keys else {key: item[key] for key in order}


@lru_cache(maxsize=256)  # the items of one file share a handful of key sets
def _key_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    known = [key for key in _KEY_ORDER if key in keys]
    return (*known, *(key for key in keys if key not in _KEY_ORDER))


def _end_of_line(text: str, index: int) -> int:
    """The index just after the newline that ends the line holding `index`."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _line_after(text: str, end: int) -> int:
    """The end of the line holding the last character before `end` (an exclusive end)."""
    return _end_of_line(text, max(end - 1, 0))


@contextmanager
def versioned_edit(project: Project, path: Path, commit: bool) -> Iterator[dict[str, str]]:
    """Around an edit of one dataset file. When `commit` (or the project's
    `auto_commit`) is on: refuse a file that already has uncommitted changes,
    and afterwards commit the file alone with the message the edit leaves in
    the yielded dict (`note["message"]`); the new commit's sha is then
    `note["sha"]`. An edit that raises commits nothing. The file's lock is held
    throughout, so concurrent edits (two CLIs, the UI and a CLI) run one after
    the other and none is lost."""
    with locked(path):  # the whole edit, read to commit: a second writer waits for it
        with _versioned(project, path, commit) as note:
            yield note


@contextmanager
def _versioned(project: Project, path: Path, commit: bool) -> Iterator[dict[str, str]]:
    from gitevals.errors import GitevalsError
    from gitevals.git import open_repo

    commit = commit or project.config.auto_commit
    repo = open_repo(project.root) if commit else None
    if commit and repo is None:
        raise GitevalsError("committing an edit needs a git repository",
                            hint="run `git init`, or edit without committing")
    try:
        if repo is not None and path.exists() and repo.has_changes(path):
            raise GitevalsError(
                f"{project.relative(path)} has uncommitted changes; committing would mix them into this version",
                hint="commit or stash them first, or edit without committing",
            )
        note: dict[str, str] = {}
        yield note
        if repo is not None and note.get("message"):
            note["sha"] = repo.commit_file(path, note["message"])
    finally:
        if repo is not None:
            repo.close()


def dataset_file(project: Project, name: str) -> Path:
    """The file a new dataset `name` gets; refuses a name that is not a plain
    file stem (so no name reaches outside the datasets folder) or is taken."""
    from gitevals.errors import GitevalsError

    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise GitevalsError(f"{name!r} is not a good dataset name", hint="use letters, digits, '-', '_' and '.'")
    if name in project.dataset_names():
        raise GitevalsError(f"there is already a dataset named {name!r} in {project.relative(project.datasets_dir)}/",
                            hint="edit it, or choose another name")
    return project.datasets_dir / f"{name}.yaml"


def create_dataset(
    project: Project,
    name: str,
    *,
    description: str | None = None,
    input_schema: Mapping[str, Any] | None = None,
    expected_schema: Mapping[str, Any] | None = None,
    commit: bool = False,
) -> tuple[Path, str | None]:
    """Write a new, empty dataset `name` whose `$schema` header points at
    schemas/dataset.schema.json (written when missing, so editors validate the
    file). Returns the file and, when committed, the commit's sha."""
    import os

    from gitevals.formats import write_schemas

    path = dataset_file(project, name)
    schema_dir = project.root / "schemas"
    schema_ref = Path(os.path.relpath(schema_dir / "dataset.schema.json", project.datasets_dir)).as_posix()
    with versioned_edit(project, path, commit) as note:  # first: it may refuse, and then nothing is written
        if not (schema_dir / "dataset.schema.json").exists():
            write_schemas(schema_dir)
        editor = EditableDataset.create(path, description=description or None, schema_ref=schema_ref,
                                        input_schema=input_schema, expected_schema=expected_schema)
        editor.save()
        note["message"] = f"dataset {name}: new"
    return path, note.get("sha")
