"""Reading a YAML file into a model, with every problem at its line and column."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ._yaml import YamlProblem, load_yaml, locate
from .errors import GitevalsError, Problem, did_you_mean

__all__ = ["parse_yaml_bytes", "read_model", "read_yaml_file", "validation_problems"]

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
    try:
        return text, model.model_validate(data)
    except ValidationError as exc:
        raise error_cls(problems=validation_problems(exc, model, path, text)) from None


def validation_problems(
    exc: ValidationError,
    model: type[BaseModel],
    path: Path | str,
    text: str,
    prefix: Sequence[str | int] = (),
) -> list[Problem]:
    """One Problem per pydantic error, located in `text`."""
    problems = []
    seen: set[tuple[Any, ...]] = set()
    errors = exc.errors()
    # A value that fits no member of a union gets one error per member; the
    # "not a string" one (from the `module:attr` shorthand) only adds noise
    # when another member explains the problem better.
    located = [(tuple(prefix) + _clean_loc(err["loc"]), err) for err in errors]
    explained = {loc for loc, err in located if err["type"] != "string_type"}
    for loc, err in located:
        if err["type"] == "string_type" and loc in explained:
            continue
        message, hint = _describe(err, loc, model)
        key = (loc, message)
        if key in seen:
            continue
        seen.add(key)
        line, col = locate(text, loc)
        problems.append(Problem(message, path, line, col, hint))
    return problems


def _clean_loc(loc: Sequence[Any]) -> tuple[str | int, ...]:
    # pydantic puts union member names ("str", "ScorerConfig", "python") into
    # the location; they are not keys in the file.
    kept: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (
            part[:1].isupper() or part in {"str", "float", "int", "list[str]", "function-after"}
            or part.startswith(("tagged-union", "function-"))
        ):
            continue
        kept.append(part)
    return tuple(kept)


def _describe(err: dict[str, Any], loc: tuple[Any, ...], model: type[BaseModel]) -> tuple[str, str | None]:
    where = _dotted(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        allowed = _allowed_keys(model, loc[:-1])
        hint = did_you_mean(key, allowed) if allowed else None
        return f"unknown key {key!r}" + (f" in {_dotted(loc[:-1])}" if loc[:-1] else ""), hint
    if kind == "missing":
        parent = f" in {_dotted(loc[:-1])}" if loc[:-1] else ""
        return f"missing required key {loc[-1]!r}{parent}", f"add `{loc[-1]}:`"
    if kind == "union_tag_invalid":
        expected = err.get("ctx", {}).get("expected_tags", "")
        tag = err.get("ctx", {}).get("tag", err["input"])
        return f"{where}: unknown type {tag!r}", f"use one of: {expected}"
    if kind == "value_error" and "error" in err.get("ctx", {}):
        return f"{where or 'file'}: {err['ctx']['error']}", None  # a validator's own words, without "Value error, "
    return f"{where or 'file'}: {err['msg']}", None


def _dotted(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _allowed_keys(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The field names of the model found at `loc`, when it can be followed."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
