"""Reading a YAML file into a model, with every problem at its line and column."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from gitevals.errors import GitevalsError, Problem, did_you_mean

from .load import YamlProblem, load_yaml, locate
from .union_errors import Located, Mismatch, _members, locate_errors, real_errors, tag_values

__all__ = [
    "error_messages", "parse_yaml_bytes", "read_model", "read_model_partly", "read_yaml_file", "validation_problems",
]

M = TypeVar("M", bound=BaseModel)


def read_yaml_file(path: Path, error_cls: type[GitevalsError]) -> tuple[str, Any]:
    """The text and the parsed data of a YAML file; unreadable or bad YAML raises."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error_cls("file not found", path=path) from None
    except OSError as exc:
        raise error_cls(f"cannot read the file: {exc.strerror}", path=path) from None
    return parse_yaml_bytes(raw, path, error_cls)


def parse_yaml_bytes(raw: bytes, path: Path | str, error_cls: type[GitevalsError]) -> tuple[str, Any]:
    """The text and parsed data of YAML bytes (UTF-8, with or without BOM); `path` names them."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error_cls(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            path=path,
            hint="save the file as UTF-8",
        ) from None
    try:
        return text, load_yaml(text, path)
    except YamlProblem as exc:
        raise error_cls(problems=[exc.problem]) from None


def read_model(path: Path, model: type[M], error_cls: type[GitevalsError]) -> tuple[str, M]:
    """Read and validate a YAML file; all its problems are raised together."""
    text, data = _read_mapping(path, model, error_cls)
    try:
        return text, model.model_validate(data)
    except ValidationError as exc:
        raise error_cls(problems=validation_problems(exc, model, path, text)) from None


def _read_mapping(path: Path, model: type[BaseModel], error_cls: type[GitevalsError]) -> tuple[str, dict[str, Any]]:
    """The text and the top-level mapping of a YAML file that `model` describes."""
    text, data = read_yaml_file(path, error_cls)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error_cls(
            f"expected a mapping of keys at the top level, found {_kind(data)}",
            path=path,
            line=1,
            col=1,
            hint=f"see schemas/ for the keys a {model.__name__} file takes",
        )
    return text, data


def read_model_partly(path: Path, model: type[M], error_cls: type[GitevalsError]) -> tuple[str, M, list[Problem], set[str]]:
    """Like `read_model`, but a file whose problems all lie in keys it can do
    without is returned without them, with its problems and the keys left out,
    so that the caller can check the rest and report every problem at once.
    Raises when a required key is wrong."""
    text, data = _read_mapping(path, model, error_cls)
    try:
        return text, model.model_validate(data), [], set()
    except ValidationError as invalid:
        errors = invalid.errors()
        failed = error_cls(problems=validation_problems(invalid, model, path, text))
    bad = {str(err["loc"][0]) for err in errors if err["loc"]}
    required = {key for key, field in model.model_fields.items() if field.is_required()}
    if bad & required or any(not err["loc"] for err in errors):
        raise failed
    try:
        partial = model.model_validate({k: v for k, v in data.items() if k not in bad})
    except ValidationError:
        raise failed from None
    # A list keeps its good entries, each at its place: a bad one is None.
    holes = {key: _good_entries(model.model_fields[key].annotation, data[key])
             for key in bad if key in model.model_fields and isinstance(data.get(key), list)}
    partial = partial.model_copy(update={k: v for k, v in holes.items() if v is not None})
    return text, partial, list(failed.problems), bad


def _good_entries(annotation: Any, value: list[Any]) -> list[Any] | None:
    """`value`'s entries validated as the list in `annotation` takes them, None
    for each bad one; None when the field takes no list."""
    lists = [a for a in _members(annotation) or [annotation] if get_origin(a) is list]
    if not lists:
        return None
    adapter: TypeAdapter[Any] = TypeAdapter(get_args(lists[0])[0])
    entries = []
    for entry in value:
        try:
            entries.append(adapter.validate_python(entry))
        except ValidationError:
            entries.append(None)
    return entries


def validation_problems(
    exc: ValidationError,
    model: type[BaseModel],
    path: Path | str,
    text: str,
    prefix: Sequence[str | int] = (),
    label: str | None = None,
) -> list[Problem]:
    """One Problem per real problem among pydantic's errors, located in `text`.

    A value that fits no member of a union gets an error from every member;
    only those of the member the value was meant for are kept, or, when it has
    the shape of none, one "expected a list or a mapping" (see `_union_errors`).
    `label` names the value at `prefix` in messages: `item 'refund' (#3)`, not `items[2]`.
    """
    problems = []
    seen: set[tuple[Any, ...]] = set()
    name = _namer(tuple(prefix), label)
    entries = real_errors(locate_errors(model, cast("list[dict[str, Any]]", exc.errors()), prefix))
    misspelt = _misspelt_keys(entries)
    for entry in entries:
        if isinstance(entry, Mismatch):
            message, hint = _mismatch(entry, name)
        elif entry.err["type"] == "missing" and (entry.loc[:-1], entry.loc[-1]) in misspelt.values():
            continue  # said with the misspelt key that was meant for it
        else:
            message, hint = _describe(entry, name)
            meant = misspelt.get((entry.loc[:-1], entry.loc[-1]))
            if meant is not None:
                hint = f"did you mean {meant[1]!r}? it is required"
        hint = hint or _field_hint(entry.loc)
        key = (entry.loc, message)
        if key in seen:
            continue
        seen.add(key)
        line, col = locate(text, entry.loc)
        problems.append(Problem(message, path, line, col, hint))
    return problems


def error_messages(exc: ValidationError, model: type[BaseModel]) -> list[tuple[str, str | None]]:
    """(message, hint) per real problem of a value that is in no file, say a command-line option."""
    return [(p.message, p.hint) for p in validation_problems(exc, model, "", "")]


def _misspelt_keys(entries: Sequence[Located | Mismatch]) -> dict[tuple[Any, Any], tuple[Any, Any]]:
    """Unknown keys that are misspellings of a missing required key, which is one
    problem rather than two: (mapping, unknown key) -> (mapping, required key)."""
    unknown: dict[tuple[Any, ...], list[str]] = {}
    for entry in entries:
        if isinstance(entry, Located) and entry.err["type"] == "extra_forbidden" and entry.loc:
            unknown.setdefault(entry.loc[:-1], []).append(str(entry.loc[-1]))
    pairs = {}
    for entry in entries:
        if isinstance(entry, Located) and entry.err["type"] == "missing" and entry.loc:
            near = difflib.get_close_matches(str(entry.loc[-1]), unknown.get(entry.loc[:-1], []), n=1)
            if near:
                pairs[(entry.loc[:-1], near[0])] = (entry.loc[:-1], entry.loc[-1])
    return pairs


def _namer(prefix: tuple[Any, ...], label: str | None) -> Callable[[Sequence[Any]], str]:
    """How a location is named in messages: `scorers[0].threshold`, or with a
    label for the prefix, `context of item 'refund' (#3)`."""

    def name(loc: Sequence[Any]) -> str:
        if label is not None and tuple(loc[: len(prefix)]) == prefix:
            rest = _dotted(loc[len(prefix):])
            return f"{rest} of {label}" if rest else label
        return _dotted(loc)

    return name


_BOUNDS = {"less_than_equal": ("at most", "le"), "greater_than_equal": ("at least", "ge"),
           "greater_than": ("more than", "gt"), "less_than": ("less than", "lt")}
_WANTED = {
    "string_type": "a string", "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false", "list_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping",
}


def _describe(entry: Located, name: Callable[[Sequence[Any]], str]) -> tuple[str, str | None]:
    err, loc = entry.err, entry.loc
    where = name(loc) or "file"
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        owner = entry.owner  # the walk along the model found it: every unknown key has one
        allowed = list(owner.model_fields) if owner is not None else []
        hint = _misplaced_hint(key, owner) or (did_you_mean(key, allowed) if allowed else None)
        return f"unknown key {key!r}" + (f" in {name(loc[:-1])}" if loc[:-1] else ""), hint
    if kind == "missing":
        key = str(loc[-1])
        given = err.get("input")
        near = difflib.get_close_matches(key, [k for k in given if isinstance(k, str)], n=1) if isinstance(given, dict) else []
        hint = f"did you mean `{key}:` rather than `{near[0]}:`?" if near else f"add `{key}:`"
        return f"missing required key {key!r}" + (f" in {name(loc[:-1])}" if loc[:-1] else ""), hint
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag", err["input"]))
        tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        suggestion = did_you_mean(tag, tags, or_choices=False)
        hint = (suggestion + " " if suggestion else "") + "use one of: " + ", ".join(tags)
        return f"{where}: unknown type {tag!r}", hint
    if kind == "union_tag_not_found":
        key = str(ctx.get("discriminator", "type")).strip("'")
        tags = tag_values(entry.end)
        return f"{where}: no `{key}:`", f"add `{key}:`" + (f", one of: {', '.join(tags)}" if tags else "")
    if kind == "value_error" and "error" in ctx:
        return f"{where}: {ctx['error']}", None  # a validator's own words, without "Value error, "
    if kind in _BOUNDS and _BOUNDS[kind][1] in ctx:
        words, bound = _BOUNDS[kind]
        return f"{where}: must be {words} {_shown(ctx[bound])}, found {_shown(err['input'])}", None
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        suggestion = did_you_mean(str(err["input"]), choices) if choices else None
        return f"{where}: {_shown(err['input'])} is not one of {', '.join(choices)}", suggestion
    if kind in _WANTED:
        return f"{where}: expected {_WANTED[kind]}, found {_kind(err['input'])}", None
    return f"{where}: {err['msg']}", None


def _mismatch(entry: Mismatch, name: Callable[[Sequence[Any]], str]) -> tuple[str, str | None]:
    """A value of a union that has the shape of none of its members."""
    message = f"{name(entry.loc) or 'file'}: expected {' or '.join(entry.expected)}, found {_kind(entry.found)}"
    hint = None
    if entry.field is not None:
        from gitevals.formats import field_docstrings

        doc = field_docstrings(entry.field[0]).get(entry.field[1])
        hint = f"{entry.field[1]}: " + " ".join(doc.split()) if doc else None
    return message, hint


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a bound of 1, not 1.0
    return repr(value) if isinstance(value, str) else json.dumps(value, default=str)


_THRESHOLD_HINT = (
    "a threshold is the lowest acceptable mean score, from 0 to 1 (`exact_match: 0.8`), "
    "or `{mean: 0.8, pass_rate: 0.9}`"
)


def _field_hint(loc: tuple[Any, ...]) -> str | None:
    """How to write the value of a field whose errors need more than pydantic's words."""
    if loc[:1] == ("thresholds",):
        return _THRESHOLD_HINT
    if loc[-1:] == ("threshold",):
        return "a scorer's `threshold` is the lowest passing score, from 0 to 1 (default 0.5)"
    return None


def _dotted(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _misplaced_hint(key: str, owner: type[BaseModel] | None) -> str | None:
    """When `key` is no key here but is one of each entry of a list field here
    (`expected` at the top of a dataset, where `items` entries have it), the
    likely mistake is its indentation."""
    for field_name, field in getattr(owner, "model_fields", {}).items():
        entry = _model_in(field.annotation) if get_origin(field.annotation) is list else None
        if entry is not None and key in entry.model_fields:
            return (f"`{key}` is a key of each entry of `{field_name}`: indent it under the entry it belongs to, "
                    "level with that entry's other keys")
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean",
            dict: "a mapping", type(None): "nothing (null)"}.get(type(value), type(value).__name__)
