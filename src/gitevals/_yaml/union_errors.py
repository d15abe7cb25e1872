"""Which of pydantic's errors are the real problems of a file.

A value that fits no member of a union gets errors from every member: a
misspelt option in one scorer mapping yields "not a string", "not an agent
mapping", "not a workflow mapping" and the real one. Each error's location is
walked along the model's annotations, which tells the union members' labels
from the file's keys; then, per union, only the member the value was meant for
keeps its errors (the one whose shape it has, and whose keys it uses), and a
value that has the shape of no member becomes one `Mismatch` saying what the
value may be.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["Located", "Mismatch", "locate_errors", "real_errors", "tag_values"]

# Errors that say the value has another shape altogether, not that its content is wrong.
_SHAPE = {
    "string_type", "int_type", "float_type", "bool_type", "list_type", "dict_type", "model_type",
    "model_attributes_type", "int_parsing", "float_parsing", "bool_parsing", "is_instance_of", "literal_error",
    "none_required", "tuple_type", "set_type", "mapping_type", "int_from_float", "string_sub_type",
}


@dataclass(frozen=True)
class Branch:
    """A union member that an error went through."""

    loc: tuple[Any, ...]
    """Where the union's value sits in the file."""
    label: str
    member: Any
    """The member's annotation."""
    field: tuple[type[BaseModel], str] | None
    """The model field that holds the union, for its docstring."""


@dataclass(frozen=True)
class Located:
    """One pydantic error, at its location in the file."""

    err: dict[str, Any]
    loc: tuple[Any, ...]
    """Keys and list indices only: no union labels."""
    branches: tuple[Branch, ...]
    owner: type[BaseModel] | None
    """The model whose key the location's last part is (or would be, for an unknown key)."""
    end: Any
    """The annotation at the location, when it could be followed."""


@dataclass(frozen=True)
class Mismatch:
    """A value that has the shape of no member of its union."""

    loc: tuple[Any, ...]
    expected: list[str]
    """What the value may be: `a string`, `a list`, `a mapping`, ..."""
    found: Any
    field: tuple[type[BaseModel], str] | None


def locate_errors(model: type[BaseModel], errors: Sequence[dict[str, Any]], prefix: Sequence[Any] = ()) -> list[Located]:
    """Each error with its location in the file. `prefix` is where the validated value
    sits within a file that `model` describes (say ("items", 3) of a DatasetFile)."""
    return [_walk(model, err, tuple(prefix)) for err in errors]


def real_errors(located: Sequence[Located]) -> list[Located | Mismatch]:
    """The errors left when every union keeps only the member its value was meant for."""
    return _choose(list(located), 0)


def _choose(entries: list[Located], depth: int) -> list[Located | Mismatch]:
    result: list[Located | Mismatch] = []
    groups: dict[tuple[Any, ...], list[Located]] = {}
    for entry in entries:
        if len(entry.branches) > depth:
            groups.setdefault(entry.branches[depth].loc, []).append(entry)
        else:
            result.append(entry)
    for loc, group in groups.items():
        members: dict[str, list[Located]] = {}
        for entry in group:
            members.setdefault(entry.branches[depth].label, []).append(entry)
        fitting = {label: found for label, found in members.items() if not _wrong_shape(found, loc)}
        if not fitting:
            first = group[0]
            expected = list(dict.fromkeys(_kind_of(e.branches[depth].member) for e in group))
            result.append(Mismatch(loc, expected, first.err.get("input"), first.branches[depth].field))
            continue
        order = list(fitting)

        def closeness(
            label: str, loc: tuple[Any, ...] = loc, fitting: dict[str, Any] = fitting, order: list[str] = order
        ) -> tuple[int, int, int]:
            found = fitting[label]
            unknown_keys = sum(1 for e in found if e.err["type"] == "extra_forbidden" and len(e.loc) == len(loc) + 1)
            return unknown_keys, len(_choose(found, depth + 1)), order.index(label)

        result += _choose(fitting[min(fitting, key=closeness)], depth + 1)
    return result


def _wrong_shape(found: list[Located], loc: tuple[Any, ...]) -> bool:
    """Whether a member refused the value for its shape alone (a string where it takes a mapping)."""
    return all(e.loc == loc and e.err["type"] in _SHAPE for e in found)


def _walk(model: type[BaseModel], err: dict[str, Any], prefix: tuple[Any, ...]) -> Located:
    parts = [*prefix, *err["loc"]]
    kept: list[Any] = []
    branches: list[Branch] = []
    current: Any = model
    discriminator: Any = None
    owner: type[BaseModel] | None = None
    field: tuple[type[BaseModel], str] | None = None
    i = 0
    while i < len(parts):
        part = parts[i]
        current, found_discriminator = _unwrap(current)
        discriminator = discriminator or found_discriminator
        members = _members(current)
        if members is not None and isinstance(part, str):
            member = _member_for(members, part, discriminator)
            if member is None:
                break
            # A discriminator picked this member from the value itself: pydantic tried
            # no other, so there is nothing to choose between.
            if discriminator is None or part.startswith("tagged-union["):
                branches.append(Branch(tuple(kept), part, member, field))
            current, discriminator = member, None
            i += 1
            continue
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            owner, kept = current, [*kept, part]
            info = current.model_fields.get(part)
            field = (current, part)
            current, discriminator = (info.annotation, info.discriminator) if info is not None else (Any, None)
            i += 1
            continue
        origin = get_origin(current)
        args = get_args(current)
        if origin in (list, tuple, set, frozenset) or (isinstance(origin, type) and issubclass(origin, Sequence)):
            current = args[0] if args else Any
        elif origin is dict or (isinstance(origin, type) and issubclass(origin, Mapping)):
            current = args[1] if len(args) == 2 else Any
        else:
            current = Any
        kept.append(part)
        i += 1
    rest = [p for p in parts[i:] if not _looks_like_label(p)]
    return Located(err, tuple(kept + rest), tuple(branches), owner, current if i == len(parts) else None)


def _unwrap(annotation: Any) -> tuple[Any, Any]:
    """The annotation without `Annotated` and `None` members, and its union discriminator if any."""
    discriminator = None
    while get_origin(annotation) is Annotated:
        args = get_args(annotation)
        for meta in args[1:]:
            found = getattr(meta, "discriminator", None)
            if found is not None:
                discriminator = found
            elif type(meta).__name__ == "Discriminator":
                discriminator = meta
        annotation = args[0]
    members = _members(annotation)
    if members is not None and len(members) == 1:
        return _unwrap(members[0])[0], discriminator
    return annotation, discriminator


def _members(annotation: Any) -> list[Any] | None:
    """A union's members other than None; None when `annotation` is no union."""
    if get_origin(annotation) in (Union, types.UnionType):
        return [a for a in get_args(annotation) if a is not type(None)]
    return None


def _member_for(members: list[Any], label: str, discriminator: Any) -> Any:
    """The member pydantic names `label` in an error's location."""
    if isinstance(discriminator, str) and not label.startswith("tagged-union["):
        for member in members:  # a discriminated union: the label is the tag value
            if label in _literal_values(member, discriminator):
                return member
    for member in members:
        if _tag_of(member) == label:  # a callable Discriminator's Tag
            return member
    for member in members:
        plain = _unwrap(member)[0]
        origin = get_origin(plain)
        name = getattr(plain, "__name__", "")
        if label == name or (name and label.startswith("function-") and f" {name}]" in label):
            return member
        if label.startswith("list[") and origin is list or label.startswith("dict[") and origin is dict:
            return member
        if label.startswith("tagged-union[") and _unwrap(member)[1] is not None:
            return member
        if label.startswith("literal[") and origin is Literal:
            return member
    return None


def _tag_of(member: Any) -> str | None:
    if get_origin(member) is Annotated:
        for meta in get_args(member)[1:]:
            if type(meta).__name__ == "Tag":
                return str(meta.tag)
    return None


def _literal_values(member: Any, key: str) -> tuple[Any, ...]:
    plain = _unwrap(member)[0]
    info = getattr(plain, "model_fields", {}).get(key)
    return get_args(info.annotation) if info is not None and get_origin(info.annotation) is Literal else ()


def tag_values(annotation: Any) -> list[str]:
    """The `type:` values a discriminated union of models accepts."""
    annotation, discriminator = _unwrap(annotation)
    if not isinstance(discriminator, str):
        return []
    return [str(v) for member in _members(annotation) or [] for v in _literal_values(member, discriminator)]


def _kind_of(member: Any) -> str:
    plain, discriminator = _unwrap(member)
    origin = get_origin(plain)
    if plain is str:
        return "a string"
    if plain is bool:
        return "true or false"
    if plain is int:
        return "a whole number"
    if plain is float:
        return "a number"
    if origin in (list, tuple, set):
        return "a list"
    if origin is Literal:
        return "one of " + ", ".join(repr(v) for v in get_args(plain))
    if origin is dict or discriminator is not None or (isinstance(plain, type) and issubclass(plain, BaseModel)):
        return "a mapping"
    return getattr(plain, "__name__", str(plain))


def _looks_like_label(part: Any) -> bool:
    """A union label pydantic put in a location that could not be walked."""
    return isinstance(part, str) and (
        part[:1].isupper() or part in {"str", "float", "int", "bool", "[key]"} or "[" in part
        or part.startswith(("tagged-union", "function-"))
    )
