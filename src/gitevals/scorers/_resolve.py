"""Turning scorer specs from config into bound scorers."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from gitevals._util.imports import import_ref, is_ref
from gitevals.errors import ConfigError, did_you_mean
from gitevals.formats import ScorerConfig

from ._base import BoundScorer, ScorerError, as_scorer
from ._builtins import BUILTINS

__all__ = ["resolve_scorer"]


def resolve_scorer(spec: Any, named: Mapping[str, Any] | None = None, _depth: int = 0) -> BoundScorer:
    """A scorer from a built-in name, a project scorer name, `module:attr`,
    a `{type: ..., name: ..., threshold: ..., <options>}` mapping, or a Python
    scorer object / function."""
    named = named or {}
    if isinstance(spec, Mapping):
        spec = ScorerConfig.model_validate(spec)
    if isinstance(spec, str):
        spec = ScorerConfig(type=spec)
    if not isinstance(spec, ScorerConfig):
        return as_scorer(spec)
    options = dict(spec.model_extra or {})
    kind = spec.type
    if kind in named and kind not in BUILTINS and _depth < 5:
        base = named[kind]
        base_cfg = ScorerConfig.model_validate(base) if isinstance(base, Mapping) else (
            ScorerConfig(type=base) if isinstance(base, str) else base
        )
        merged = {**(base_cfg.model_extra or {}), **options}
        inner = ScorerConfig(
            type=base_cfg.type,
            name=spec.name or base_cfg.name or kind,
            threshold=spec.threshold if spec.threshold is not None else base_cfg.threshold,
            **merged,
        )
        return resolve_scorer(inner, named, _depth + 1)
    name = spec.name or kind
    record = spec.model_dump(exclude_none=True)
    if kind in BUILTINS:
        fn = _build(BUILTINS[kind], options, kind)
        return BoundScorer(name, fn, spec.threshold if spec.threshold is not None else 0.5, record)
    if is_ref(kind):
        obj = import_ref(kind, "scorer")
        if options:
            obj = _build(obj, options, kind)
        elif inspect.isclass(obj):
            obj = _build(obj, {}, kind)
        scorer = as_scorer(obj, name=spec.name or _default_name(obj, kind), threshold=spec.threshold)
        return BoundScorer(scorer.name, scorer.fn, scorer.threshold, record)
    raise ConfigError(
        f"unknown scorer {kind!r}",
        hint=did_you_mean(kind, [*BUILTINS, *named]) or "use a built-in name or module:attr",
    )


def _default_name(obj: Any, ref: str) -> str:
    name = getattr(obj, "name", None)
    return name if isinstance(name, str) and name else ref.rpartition(":")[2].rpartition(".")[2]


def _build(factory: Any, options: dict[str, Any], kind: str) -> Any:
    """Call a scorer factory with its options, naming any option it does not take."""
    try:
        params: Mapping[str, inspect.Parameter] = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    if not takes_any:
        unknown = [key for key in options if key not in params]
        if unknown:
            raise ConfigError(
                f"scorer {kind!r} has no option {unknown[0]!r}",
                hint=did_you_mean(unknown[0], [p for p in params if p != "self"])
                or f"{kind!r} takes no options",
                at=(unknown[0],),
            )
        missing = [
            p.name for p in params.values()
            if p.default is p.empty and p.kind is p.KEYWORD_ONLY and p.name not in options
        ]
        if missing:
            raise ConfigError(
                f"scorer {kind!r} needs the option {missing[0]!r}",
                hint=f"write it as a mapping: {{type: {kind}, {missing[0]}: ...}}",
            )
    options = _checked_types(factory, params, options, kind)
    try:
        return factory(**options)
    except ScorerError as exc:
        raise ConfigError(f"scorer {kind!r}: {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"scorer {kind!r} options: {exc}") from None


def _checked_types(
    factory: Any, params: Mapping[str, inspect.Parameter], options: dict[str, Any], kind: str
) -> dict[str, Any]:
    """The options, each checked against (and converted to) the type the factory
    declares for it, so that a wrong one is an error in the config now rather
    than an error on every item later; `"0.1"` becomes 0.1, a path a Path."""
    try:
        hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory, include_extras=True)
    except Exception:  # annotations that do not resolve: the factory checks its own options
        return options
    checked = dict(options)
    for key, value in options.items():
        if key not in hints:
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(hints[key])
        except Exception:  # a type pydantic cannot check
            continue
        try:
            checked[key] = adapter.validate_python(value)
        except ValidationError as exc:
            expected = _type_text(params[key].annotation if key in params else hints[key])
            raise ConfigError(
                f"scorer {kind!r}: option {key!r} must be {expected}, not {value!r}",
                hint=exc.errors()[0]["msg"],
                at=(key,),
            ) from None
    return checked


def _type_text(annotation: Any) -> str:
    """An annotation as its source reads (`float`, `str | list[str] | None`)."""
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
