"""Recording what a target did: tool calls and workflow steps, as a trajectory.

    from gitevals import trace

    @trace.tool
    def lookup_order(order_id: str) -> dict: ...

    @trace.step(name="validate")
    async def validate(data): ...

    trace.record("model_call", "gpt-x", tokens={"input": 120, "output": 30})

While the runner calls a target for an item, every decorated call made in that
call's context is appended to that item's trajectory (a context variable, so
concurrent items never mix). A step that calls tools gets them as `children`.
Outside a run the decorators only call through.

Tool mocks: an item's `tool_mocks` make `@tool` functions return a value
without running (a constant, a list returned in turn, or `{args, result}`
cases matched on arguments); with `unmocked_tools: deny`, a call to a tool
without a mock raises `ToolNotAllowed` and is recorded as a tool error.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, overload

__all__ = ["Recorder", "ToolNotAllowed", "current_recorder", "record", "recording", "step", "tool"]

F = TypeVar("F", bound=Callable[..., Any])


class ToolNotAllowed(Exception):
    """A tool without a mock was called while the item says `unmocked_tools: deny`."""


class Recorder:
    """One item's trajectory as it is recorded, and its tool mocks."""

    def __init__(self, mocks: Mapping[str, Any] | None = None, unmocked: str | None = None,
                 capture_spans: bool = False) -> None:
        self.steps: list[dict[str, Any]] = []
        self.started: list[int] = []
        """When each of `steps` began (`time.time_ns()`, the clock of spans), to merge spans in."""
        self.spans: list[Any] | None = [] if capture_spans else None
        """The OpenTelemetry spans of the item (`otel.SpanRecord`s), when they are captured."""
        self.mocks = dict(mocks or {})
        self.deny_unmocked = unmocked == "deny"
        self._turns: dict[str, int] = {}

    def mock_for(self, name: str, args: Mapping[str, Any]) -> tuple[bool, Any]:
        """(whether `name` is mocked, the value to return)."""
        if name not in self.mocks:
            return False, None
        mock = self.mocks[name]
        if _is_case(mock):
            mock = [mock]
        if isinstance(mock, list) and mock and all(_is_case(c) for c in mock):
            for case in mock:
                if _args_match(case.get("args"), args):
                    return True, case["result"]
            raise ToolNotAllowed(f"no mock of tool {name!r} matches the arguments {dict(args)!r}")
        if isinstance(mock, list) and mock:
            turn = self._turns.get(name, 0)
            self._turns[name] = turn + 1
            return True, mock[min(turn, len(mock) - 1)]  # the last value repeats
        return True, mock


def _is_case(value: Any) -> bool:
    return isinstance(value, Mapping) and "result" in value and set(value) <= {"args", "result"}


def _args_match(expected: Any, actual: Mapping[str, Any]) -> bool:
    """Every argument the case names has that value (others may be anything)."""
    if expected is None:
        return True
    return isinstance(expected, Mapping) and all(actual.get(k) == v for k, v in expected.items())


_recorder: ContextVar[Recorder | None] = ContextVar("gitevals_recorder", default=None)
_siblings: ContextVar[list[dict[str, Any]] | None] = ContextVar("gitevals_parent", default=None)


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Record the calls made inside the block into `recorder` (the runner does this per item)."""
    token = _recorder.set(recorder)
    parent = _siblings.set(recorder.steps)
    try:
        yield recorder
    finally:
        _siblings.reset(parent)
        _recorder.reset(token)


def record(
    type: str,
    name: str,
    *,
    args: Any = None,
    result: Any = None,
    error: str | None = None,
    duration_ms: float | None = None,
    tokens: Mapping[str, int] | None = None,
) -> None:
    """Append a step to the current trajectory by hand (does nothing outside a run)."""
    siblings = _siblings.get()
    if siblings is None:
        return
    _stamp(siblings)
    siblings.append(_step(type, name, args, result, error, duration_ms, tokens))


def current_recorder() -> Recorder | None:
    """The recorder of the item whose target runs in this context; None outside a run."""
    return _recorder.get()


def _stamp(siblings: list[dict[str, Any]]) -> None:
    """Note when a top-level step begins, for merging it with captured spans."""
    recorder = _recorder.get()
    if recorder is not None and siblings is recorder.steps:
        recorder.started.append(time.time_ns())


def _step(type: str, name: str, args: Any, result: Any, error: str | None, duration_ms: float | None,
          tokens: Mapping[str, int] | None) -> dict[str, Any]:
    found: dict[str, Any] = {"type": type, "name": name}
    if args is not None:
        found["args"] = args
    if error is not None:
        found["error"] = error
    else:
        found["result"] = result
    if duration_ms is not None:
        found["duration_ms"] = round(duration_ms, 3)
    if tokens:
        found["tokens"] = dict(tokens)
    return found


def _bound_args(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return {"args": list(args), **kwargs}
    return {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}


def _traced(fn: Callable[..., Any], kind: str, name: str) -> Callable[..., Any]:
    """Wrap `fn` so each call becomes a `kind` step, with its inner steps as children."""

    def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool, Any, Any]:
        """Add this call's step; returns (step, mocked, mock value, token of the children context)."""
        recorder, siblings = _recorder.get(), _siblings.get()
        arguments = _bound_args(fn, args, kwargs)
        # A workflow step's input is its one argument, as step scorers expect to see it.
        step_input = next(iter(arguments.values())) if kind == "workflow_step" and len(arguments) == 1 else arguments
        entry = _step(kind, name, step_input, None, None, None, None)
        entry["children"] = []
        _stamp(siblings)  # type: ignore[arg-type]
        siblings.append(entry)  # type: ignore[union-attr]
        mocked, value = False, None
        if kind == "tool_call":
            try:
                mocked, value = recorder.mock_for(name, arguments)  # type: ignore[union-attr]
            except ToolNotAllowed as exc:
                _fail(entry, exc, 0.0)
                raise
            if not mocked and recorder.deny_unmocked:  # type: ignore[union-attr]
                denied = ToolNotAllowed(f"tool {name!r} has no mock and this item says unmocked_tools: deny")
                _fail(entry, denied, 0.0)
                raise denied
        if mocked:
            entry["result"], entry["mocked"] = value, True
            del entry["children"]
            return entry, True, value, None
        return entry, False, None, _siblings.set(entry["children"])

    def end(entry: dict[str, Any], token: Any, started: float, result: Any = None, exc: BaseException | None = None) -> None:
        _siblings.reset(token)
        elapsed = (time.perf_counter() - started) * 1000
        if exc is not None:
            _fail(entry, exc, elapsed)
        else:
            entry["result"] = result
            entry["duration_ms"] = round(elapsed, 3)
        if not entry.get("children"):
            entry.pop("children", None)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if _recorder.get() is None:
                return await fn(*args, **kwargs)
            entry, mocked, value, token = begin(args, kwargs)
            if mocked:
                return value
            started = time.perf_counter()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                end(entry, token, started, exc=exc)
                raise
            end(entry, token, started, result)
            return result

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _recorder.get() is None:
            return fn(*args, **kwargs)
        entry, mocked, value, token = begin(args, kwargs)
        if mocked:
            return value
        started = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            end(entry, token, started, exc=exc)
            raise
        end(entry, token, started, result)
        return result

    return wrapper


def _fail(entry: dict[str, Any], exc: BaseException, elapsed_ms: float) -> None:
    if not entry.get("children"):
        entry.pop("children", None)
    entry.pop("result", None)
    entry["error"] = f"{type(exc).__name__}: {exc}"
    entry["duration_ms"] = round(elapsed_ms, 3)


@overload
def tool(fn: F) -> F: ...
@overload
def tool(*, name: str | None = None) -> Callable[[F], F]: ...
def tool(fn: Any = None, *, name: str | None = None) -> Any:
    """Record each call of the decorated function (sync or async) as a `tool_call`."""
    if fn is None:
        return lambda f: _traced(f, "tool_call", name or f.__name__)
    return _traced(fn, "tool_call", name or fn.__name__)


@overload
def step(fn: F) -> F: ...
@overload
def step(*, name: str | None = None) -> Callable[[F], F]: ...
def step(fn: Any = None, *, name: str | None = None) -> Any:
    """Record each call of the decorated function (sync or async) as a `workflow_step`."""
    if fn is None:
        return lambda f: _traced(f, "workflow_step", name or f.__name__)
    return _traced(fn, "workflow_step", name or fn.__name__)
