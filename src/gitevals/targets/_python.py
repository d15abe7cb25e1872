"""The `python` target: a function or an agent object, called in-process."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gitevals._util.threads import run_sync_in_daemon_thread
from gitevals.errors import ConfigError

from ._base import TargetCall, TargetResult
from ._frameworks import unwrap

__all__ = ["PythonTarget"]

_METHODS = ("run", "generate", "ainvoke", "invoke")


class PythonTarget:
    """Calls `fn(input, **options)`; sync callables run in worker threads.

    `fn` may be a function (sync or async), a class (instantiated without
    arguments) or an object with one of `run`, `generate`, `ainvoke`, `invoke`.
    """

    carries_tool_mocks = True  # `@trace.tool` functions return the item's mocks in this process

    def __init__(self, obj: Any, name: str | None = None, options: Mapping[str, Any] | None = None) -> None:
        self.name = name or getattr(obj, "__qualname__", None) or type(obj).__name__
        self._fn = _callable_of(obj, self.name)
        self._is_async = _is_async(self._fn)
        self._accepted = _accepted_options(self._fn)
        if options:
            self.check_options(options)

    @property
    def source_file(self) -> Path | None:
        """The file of the module that defines the callable, when it is a file."""
        module = sys.modules.get(getattr(self._fn, "__module__", None) or "")
        found = getattr(module, "__file__", None)
        return Path(found) if found else None

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Refuse options the callable cannot take, before any item runs."""
        if self._accepted is None:
            return
        unknown = [key for key in options if key not in self._accepted]
        if unknown:
            raise ConfigError(
                f"target {self.name!r} does not take the option {unknown[0]!r}",
                hint=f"its keyword parameters are: {', '.join(sorted(self._accepted)) or 'none'}; "
                "add the parameter or remove the option from target_options",
            )

    async def __call__(self, call: TargetCall) -> TargetResult:
        kwargs = dict(call.options)
        if call.request_context is not None and (self._accepted is None or "request_context" in self._accepted):
            kwargs["request_context"] = dict(call.request_context)  # the item's, for targets that take it
        if self._is_async:
            result = await self._fn(call.input, **kwargs)
        else:
            fn = functools.partial(self._fn, call.input, **kwargs)
            result = await run_sync_in_daemon_thread(fn)  # a call that never returns cannot block exit
            if inspect.isawaitable(result):
                result = await result
        return unwrap(result)  # a framework's result object: its real output, and its tool calls


def _callable_of(obj: Any, name: str) -> Callable[..., Any]:
    if inspect.isclass(obj):
        try:
            obj = obj()
        except TypeError as exc:
            raise ConfigError(f"cannot create target {name!r} without arguments: {exc}") from None
    if inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isbuiltin(obj):
        return obj
    for method in _METHODS:
        found = getattr(obj, method, None)
        if callable(found):
            return found
    if callable(obj):
        return obj
    raise ConfigError(
        f"target {name!r} is a {type(obj).__name__}, which cannot be called",
        hint=f"point at a function, or an object with one of: {', '.join(_METHODS)}",
    )


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004 (an async __call__, not callability)


def _accepted_options(fn: Callable[..., Any]) -> set[str] | None:
    """Keyword parameters after the input; None when it takes **kwargs or is opaque."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keywords = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    if positional:
        keywords.discard(positional[0].name)  # the first positional parameter takes the input
    return keywords
