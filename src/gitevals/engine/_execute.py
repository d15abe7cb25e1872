"""Running items against a target and scoring them: `run_evals` / `arun_evals`.

Concurrency is a fixed pool of worker tasks pulling item x trial pairs from
one iterator, so ten thousand items cost ten thousand small results, not ten
thousand waiting tasks. A target error, a timeout or a failing scorer is
recorded on its item and the run goes on.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

from gitevals._util.clock import utc_now
from gitevals._util.interrupts import is_real_interrupt
from gitevals._util.retry import RateLimiter, backoff_s, parse_rate, retry_info
from gitevals._util.threads import ExitInThread
from gitevals._util.words import id_list, plural
from gitevals.datasets import Dataset, DatasetItem, make_item
from gitevals.errors import ConfigError, GitevalsError
from gitevals.formats import ResultRecord, Summary, result_passed, walk_steps
from gitevals.runs import Summarizer
from gitevals.scorers import (
    BoundScorer,
    NotApplicable,
    ScorerError,
    ScorerInput,
    resolve_scorer,
    scoped,
    scorer_entries,
)
from gitevals.targets import PythonTarget, Target, TargetCall, TargetError, TargetResult, resolve_target
from gitevals.trace import Recorder, recording

__all__ = ["EvalResult", "ItemResult", "arun_evals", "execute", "run_evals", "score_one"]

OnItemComplete = Callable[["ItemResult"], "Awaitable[None] | None"]


@dataclass
class ItemResult:
    """The outcome of one item x trial: output or error, and its scores."""

    item: DatasetItem
    trial: int
    output: Any
    error: dict[str, Any] | None
    latency_ms: float
    attempts: int
    scores: dict[str, dict[str, Any]]
    started_at: str
    usage: dict[str, float] | None = None
    trajectory: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        """No error, and every scorer that applied passed."""
        return result_passed(self.error, self.scores)

    def to_record(self) -> ResultRecord:
        """This result as one line of results.jsonl (see `models.ResultLine`)."""
        item = self.item
        record: ResultRecord = {
            "item_id": item.id,
            "trial": self.trial,
            "input": item.input,
            "expected": item.expected,
            "context": dict(item.context),
            "input_hash": item.input_hash,
            "expected_hash": item.expected_hash,
            "hash": item.hash,
            "output": self.output,
            "error": self.error,
            "latency_ms": self.latency_ms,
            "attempts": self.attempts,
            "scores": self.scores,
            "started_at": self.started_at,
        }
        for key in ("usage", "trajectory", "metadata"):
            value = getattr(self, key)
            if value is not None:
                record[key] = value
        return record


@dataclass
class EvalResult:
    """What a run returns: mean score per scorer, the summary and every item's result."""

    scores: dict[str, float | None]
    summary: Summary
    items: list[ItemResult] = field(default_factory=list)
    stopped: str | None = None
    """Why the run stopped before every item ran (too many errors)."""


def run_evals(
    target: Any,
    data: Iterable[Any] | Dataset,
    scorers: Sequence[Any] = (),
    *,
    target_options: Mapping[str, Any] | None = None,
    concurrency: int = 1,
    trials: int = 1,
    timeout_s: float | None = None,
    retries: int = 0,
    rate_limit: float | str | None = None,
    on_item_complete: OnItemComplete | None = None,
    trace: str = "off",
) -> EvalResult:
    """Run every item of `data` against `target` and score the outputs.

    `target` is a function (sync or async), an agent object with `run`,
    `generate`, `invoke` or `ainvoke`, or a `module:attr` string. `data` holds
    mappings with `input` and optionally `expected` (or `ground_truth`),
    `context` and `id`, or `DatasetItem`s, or a `Dataset`. `scorers` are
    built-in names, scorer objects or functions. Failed calls that are worth
    it (timeouts, connection errors, HTTP 429 and 5xx, `RetryableError`) are
    retried up to `retries` times; `rate_limit` (per second, or "300/min")
    spaces calls across all concurrent items. `trace="otel"` makes the
    OpenTelemetry spans of each call its trajectory (see `EvalConfig.trace`).
    """
    return anyio.run(
        lambda: arun_evals(
            target,
            data,
            scorers,
            target_options=target_options,
            concurrency=concurrency,
            trials=trials,
            timeout_s=timeout_s,
            retries=retries,
            rate_limit=rate_limit,
            on_item_complete=on_item_complete,
            trace=trace,
        )
    )


async def arun_evals(
    target: Any,
    data: Iterable[Any] | Dataset,
    scorers: Sequence[Any] = (),
    *,
    target_options: Mapping[str, Any] | None = None,
    concurrency: int = 1,
    trials: int = 1,
    timeout_s: float | None = None,
    retries: int = 0,
    rate_limit: float | str | None = None,
    on_item_complete: OnItemComplete | None = None,
    trace: str = "off",
) -> EvalResult:
    """The async form of `run_evals`."""
    options = dict(target_options or {})
    if concurrency < 1 or trials < 1 or retries < 0:
        raise ValueError("concurrency and trials must be at least 1, retries at least 0")
    bound = [scoped(resolve_scorer(spec), scope) for _, spec, scope in scorer_entries(scorers)]
    names = [s.name for s in bound]
    if len(set(names)) != len(names):
        raise ValueError(f"scorer names must be unique, got {names}")
    items, resolved = as_items(data), resolve_target(target, options=options)
    refuse_dropped_mocks(resolved, items)
    if trace not in ("otel", "off"):
        raise ValueError(f"trace must be 'otel' or 'off', got {trace!r}")
    policy = CallPolicy(timeout_s, retries, RateLimiter(parse_rate(rate_limit)) if rate_limit else None,
                        capture=capture_mode(trace, resolved, bound))
    with receiving(policy) as policy:
        return await execute(items, resolved, bound, target_options=options, concurrency=concurrency,
                             trials=trials, policy=policy, on_item_complete=on_item_complete)


def capture_mode(trace: str, target: Target, scorers: Sequence[BoundScorer]) -> str | None:
    """`CallPolicy.capture` for a `trace` setting (see `EvalConfig.trace`);
    in-process capture is installed now. The SDK is looked for only when a
    trajectory could use it, so no other eval pays for it."""
    if trace == "off" or (trace == "auto" and all(s.scope == "output" for s in scorers)):
        return None
    if getattr(target, "carries_traceparent", False):  # an agent elsewhere exports to the run's receiver
        return "otlp" if trace == "otel" else None
    import importlib.util

    installed = importlib.util.find_spec("opentelemetry") is not None \
        and importlib.util.find_spec("opentelemetry.sdk") is not None
    if trace == "auto" and (not installed or not isinstance(target, PythonTarget)):
        return None
    if not isinstance(target, PythonTarget):
        raise ConfigError(f"trace: otel needs a target that makes its spans in this process (python) or sends "
                          f"a trace context on (http, command, mastra); {target.name!r} does neither",
                          hint="remove `trace: otel`")
    if not installed:
        raise ConfigError("trace: otel needs the OpenTelemetry SDK, which is not installed",
                          hint="pip install 'gitevals[otel]'")
    from gitevals.otel import install

    install()
    return "process"


@contextlib.contextmanager
def receiving(policy: CallPolicy) -> Iterator[CallPolicy]:
    """`policy`, with the run's OTLP receiver listening for the block when its
    capture is `otlp` (an agent elsewhere exports its spans to it)."""
    if policy.capture != "otlp":
        yield policy
        return
    from gitevals.otel import Receiver

    with Receiver() as receiver:
        yield replace(policy, receiver=receiver)


def as_items(data: Iterable[Any] | Dataset) -> list[DatasetItem]:
    """DatasetItems from a Dataset or from plain mappings (ids assigned by position: item-1, item-2, ...)."""
    if isinstance(data, Dataset):
        return list(data.items)
    items = []
    for index, raw in enumerate(data):
        if isinstance(raw, DatasetItem):
            items.append(raw)
            continue
        if not isinstance(raw, Mapping) or "input" not in raw:
            raise ValueError(f"data item #{index + 1} must be a mapping with an 'input' key")
        fields = dict(raw)
        if "ground_truth" in fields:
            fields["expected"] = fields.pop("ground_truth")
        item_id = str(fields.pop("id", None) or f"item-{index + 1}")  # counted from 1, as people count
        items.append(make_item(item_id, **fields))
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError("data items must have unique ids")
    return items


def refuse_dropped_mocks(
    target: Target, items: Sequence[DatasetItem], where: Callable[[], dict[str, Any]] | None = None,
) -> None:
    """Items with `tool_mocks` (or `unmocked_tools: deny`) need a target that gets
    the mocks to the tools (`carries_tool_mocks`); any other would run them
    unmocked without a word. `where` gives the target's place in an eval file
    (path, line, col), asked only on refusal: locating parses the file again."""
    if getattr(target, "carries_tool_mocks", False):
        return
    mocked = [item.id for item in items if item.tool_mocks or item.unmocked_tools == "deny"]
    if mocked:
        raise ConfigError(
            f"{plural(len(mocked), 'item')} ({id_list(mocked)}) set tool_mocks or unmocked_tools, which target "
            f"{target.name!r} cannot apply: mocks act inside a Python process, on `@gitevals.trace.tool` functions",
            hint='use a python target, send them to an http server with "{{tool_mocks}}" in its body, '
                 "or leave those items out with tags",
            **(where() if where else {}),
        )


@dataclass(frozen=True)
class CallPolicy:
    """How each target call is made: its time limit, its retries and the shared rate limit."""

    timeout_s: float | None = None
    retries: int = 0
    rate_limiter: RateLimiter | None = None
    capture: str | None = None
    """Whose OpenTelemetry spans become each item's trajectory: `process` (the
    target's, in this process; `otel.install` done) or `otlp` (exported to
    `receiver` by an agent elsewhere); None for none."""
    receiver: Any = None
    """The run's `otel.Receiver`, while it runs, when `capture` is `otlp`."""


class TooManyErrors(Exception):
    """The run stopped early: more target errors than `max_errors` allows."""

    def __init__(self, errors: int, limit: int) -> None:
        super().__init__(f"stopped after {errors} target errors (max_errors allows {limit})")
        self.errors = errors
        self.limit = limit


async def execute(
    items: Sequence[DatasetItem],
    target: Target,
    scorers: Sequence[BoundScorer],
    *,
    target_options: Mapping[str, Any] | None = None,
    concurrency: int = 1,
    trials: int = 1,
    policy: CallPolicy = CallPolicy(),
    max_errors: int | None = None,
    pairs: Sequence[tuple[DatasetItem, int]] | None = None,
    on_item_complete: OnItemComplete | None = None,
    keep_results: bool = True,
) -> EvalResult:
    """Run resolved items, target and scorers; the engine under every entry point.

    Without `keep_results`, results are only passed to `on_item_complete` (which
    writes them to disk) and summed up: memory does not grow with outputs.

    `pairs` (item, trial) replaces every item x trial when only some are to run
    (a resumed run). After more target errors than `max_errors`, the calls in
    flight are cancelled and the result says why in `stopped`.
    """
    started = time.perf_counter()
    options = dict(target_options or {})
    # A generator, not a list: a large run does not hold a pair per item x trial.
    queue = iter(pairs) if pairs is not None else ((item, trial) for item in items for trial in range(trials))
    count = len(pairs) if pairs is not None else len(items) * trials
    results: list[ItemResult] = []
    summarizer = Summarizer([s.name for s in scorers], trials)
    errors = 0
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(limiter.total_tokens, concurrency)

    async def worker() -> None:
        nonlocal errors
        for item, trial in queue:
            result = await _run_one(item, trial, target, scorers, options, policy)
            summarizer.add(result)
            if keep_results:
                results.append(result)
            if on_item_complete is not None:
                done = on_item_complete(result)
                if done is not None:
                    await done
            if result.error is not None:
                errors += 1
                if max_errors is not None and errors > max_errors:
                    raise TooManyErrors(errors, max_errors)

    stopped = None
    try:
        async with anyio.create_task_group() as group:
            for _ in range(max(1, min(concurrency, count))):
                group.start_soon(worker)
    except BaseExceptionGroup as group_error:
        too_many = group_error.subgroup(lambda e: isinstance(e, TooManyErrors))
        if too_many is None or too_many.exceptions != group_error.exceptions:
            raise
        stopped = str(too_many.exceptions[0])
    summary = summarizer.summary(total_items=len(items), trials=trials, duration_s=time.perf_counter() - started)
    return EvalResult({name: s.mean for name, s in summary.scores.items()}, summary, results, stopped)


def gitevals_error_in(exc: BaseException) -> GitevalsError | None:
    """The first GitevalsError of a task group's error when it holds nothing
    else (a result that could not be recorded, in every worker at once), so
    that it reaches the user as itself rather than as an exception group."""
    leaves: list[BaseException] = []
    groups = [exc]
    while groups:
        current = groups.pop(0)
        if isinstance(current, BaseExceptionGroup):
            groups.extend(current.exceptions)
        else:
            leaves.append(current)
    ours = [leaf for leaf in leaves if isinstance(leaf, GitevalsError)]
    return ours[0] if ours and len(ours) == len(leaves) else None


async def _run_one(
    item: DatasetItem,
    trial: int,
    target: Target,
    scorers: Sequence[BoundScorer],
    options: Mapping[str, Any],
    policy: CallPolicy,
) -> ItemResult:
    started_at = utc_now()
    merged = {**options, **item.start_options} if item.start_options else options
    call = TargetCall(item.input, merged, item.id, item.context, item.request_context, item.tool_mocks,
                      item.unmocked_tools)
    attempts = 0
    while True:
        attempts += 1
        if policy.rate_limiter is not None:
            await policy.rate_limiter.wait()
        recorder = Recorder(item.tool_mocks, item.unmocked_tools, capture_spans=policy.capture == "process")
        this_call, trace_id = call, None
        if policy.receiver is not None:  # a new trace per attempt: a failed attempt's spans are not the answer's
            trace_id, traceparent = policy.receiver.begin()
            this_call = replace(call, traceparent=traceparent, otlp_endpoint=policy.receiver.endpoint)
        began = time.perf_counter()
        with recording(recorder):
            result, error, retryable, retry_after = await _call(target, this_call, policy.timeout_s)
        latency_ms = round((time.perf_counter() - began) * 1000, 3)
        if trace_id is not None:
            recorder.spans = await policy.receiver.finish(trace_id)
        if error is None or not retryable or attempts > policy.retries:
            break
        await anyio.sleep(backoff_s(attempts, retry_after))
    if recorder.spans:
        result = _with_spans(result, recorder)
    if result is not None and result.trajectory is None and (recorder.steps or result.fallback_trajectory):
        result = replace(result, trajectory=recorder.steps or result.fallback_trajectory)
    scores = {} if result is None else await _score_all(scorers, item, result, merged)
    return ItemResult(
        item=item,
        trial=trial,
        output=None if result is None else result.output,
        error=error,
        latency_ms=latency_ms,
        attempts=attempts,
        scores=scores,
        started_at=started_at,
        usage=None if result is None else result.usage,
        trajectory=(recorder.steps or None) if result is None else result.trajectory,
        metadata=None if result is None else result.metadata,
    )


def _with_spans(result: TargetResult | None, recorder: Recorder) -> TargetResult | None:
    """The result with the captured spans as its trajectory (beside its `@trace`
    steps), and their tokens as its usage when the target reported none. A
    trajectory the target returned itself is kept."""
    from gitevals.otel import merged_trajectory, tokens_of

    steps = merged_trajectory(recorder)
    recorder.steps[:] = steps  # what a failed call's record shows too
    if result is None or result.trajectory is not None:
        return result
    tokens = {key: value for key, value in tokens_of(steps).items() if value}
    return replace(result, trajectory=steps, usage=result.usage if result.usage is not None else tokens or None)


async def _call(
    target: Target, call: TargetCall, timeout_s: float | None
) -> tuple[TargetResult | None, dict[str, Any] | None, bool, float | None]:
    """(result, error record, whether the error is worth a retry, seconds the server asked to wait)."""
    try:
        if timeout_s is None:
            return await target(call), None, False, None
        with anyio.fail_after(timeout_s):
            return await target(call), None, False, None
    except TimeoutError:
        return None, {"type": "timeout", "message": f"no answer within {timeout_s:g} s"}, True, None
    except TargetError as exc:
        error = {"type": exc.kind, "message": str(exc)}
        if exc.stderr:
            error["stderr"] = exc.stderr
        return None, error, False, None
    except Exception as exc:
        retryable, retry_after = retry_info(exc)
        shown = _raised(exc)
        origin = {"where": f"target {target.name}"} if getattr(target, "remote", False) else _origin(shown)
        error = {"type": type(shown).__name__, "message": _message(shown), **origin}
        return None, error, retryable, retry_after
    except BaseException as exc:  # SystemExit, GeneratorExit, ... from user code
        if _stops_the_run(exc):
            raise
        return None, {"type": type(exc).__name__, "message": _message(exc), **_origin(exc)}, False, None


def _raised(exc: Exception) -> BaseException:
    """What the user's code raised: a BaseException from a worker thread arrives wrapped."""
    return exc.original if isinstance(exc, ExitInThread) else exc


def _stops_the_run(exc: BaseException) -> bool:
    """A real Ctrl-C or SIGTERM, or the run's own cancellation; any other
    BaseException (a KeyboardInterrupt or CancelledError that user code raised
    itself included) is the item's error."""
    if isinstance(exc, KeyboardInterrupt):
        return is_real_interrupt()
    if isinstance(exc, anyio.get_cancelled_exc_class()):
        return _being_cancelled()
    return False


def _being_cancelled() -> bool:
    """Whether this task was told to stop (the run's cancel scope), rather than
    user code raising CancelledError of its own accord."""
    import asyncio

    try:
        task = asyncio.current_task()
    except RuntimeError:  # not on an asyncio loop: trust the exception
        return True
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return task is None or cancelling is None or cancelling() > 0


def _message(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"the code called sys.exit({exc.code!r})"  # the run goes on: it is this item's error
    return str(exc) or type(exc).__name__


_FRAMES_KEPT = 6
_OWN_FILES = str(Path(__file__).parent.parent)  # gitevals' frames (the runner, the target wrappers) say nothing about the bug


def _origin(exc: BaseException) -> dict[str, str]:
    """Where a target's exception came from: its innermost frames, so that a
    failing item can be debugged from results.jsonl without running it again."""
    import traceback

    frames: list[traceback.FrameSummary] = traceback.extract_tb(exc.__traceback__)
    frames = [f for f in frames if not f.filename.startswith(_OWN_FILES)] or frames
    if not frames:
        return {}
    last = frames[-1]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames[-_FRAMES_KEPT:]),
             *traceback.format_exception_only(type(exc), exc)]
    return {"traceback": "".join(lines).rstrip("\n"), "where": f"{_shorter(last.filename)}:{last.lineno} in {last.name}"}


def _shorter(filename: str) -> str:
    """`filename` relative to the working folder (the project's, for the CLI) when it is inside it."""
    import os

    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive, on Windows
        return filename
    return filename if relative.startswith("..") else relative


async def _score_all(
    scorers: Sequence[BoundScorer],
    item: DatasetItem,
    result: TargetResult,
    options: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    if not scorers:
        return {}
    sample = ScorerInput(
        input=item.input,
        output=result.output,
        expected=item.expected,
        context=item.context,
        trajectory=result.trajectory,
        expected_trajectory=item.expected_trajectory,
        target_options=options,
        item_id=item.id,
    )
    return {scorer.name: await score_one(scorer, sample) for scorer in scorers}


async def score_one(scorer: BoundScorer, sample: ScorerInput) -> dict[str, Any]:
    """One scorer's verdict on one output as a results.jsonl score record
    (`{value, passed, reason, ...}`, see `models.ScoreRecord`). Never raises:
    a failing scorer is recorded as an error, one that does not apply as skipped.

    A trajectory scorer without a trajectory, or a step scorer whose step never
    ran, is an error that says so, never a silent 0."""
    expects_steps = bool((sample.expected_trajectory or {}).get("steps"))
    if scorer.scope == "trajectory" and not sample.trajectory and expects_steps:
        return _score_error(
            "NoTrajectory",
            f"{scorer.name}: the target recorded no trajectory; decorate its tools with @gitevals.trace.tool "
            "(or steps with @trace.step), return TargetResult(trajectory=...), or capture the OpenTelemetry "
            "spans its framework emits with `trace: otel` in the eval (pip install 'gitevals[otel]')",
        )
    if scorer.scope.startswith("step:"):
        step_id = scorer.scope.removeprefix("step:")
        found = _find_step(sample.trajectory or [], step_id)
        if found is None:
            if _optional_step(sample.expected_trajectory, step_id):
                return {"value": None, "passed": None, "reason": f"optional step {step_id!r} did not run",
                        "skipped": True}
            ran = sorted({s["name"] for s in walk_steps(sample.trajectory or []) if s.get("type") == "workflow_step"})
            return _score_error("StepNotRun", f"step {step_id!r} never ran (steps that ran: {', '.join(ran) or 'none'})")
        if found.get("error"):
            return _score_error("StepFailed", f"step {step_id!r} failed: {found['error']}")
        sample = replace(sample, input=found.get("args"), output=found.get("result"), expected=None)
    try:
        score = await scorer(sample)
    except NotApplicable as exc:
        return {"value": None, "passed": None, "reason": str(exc), "skipped": True}
    except ScorerError as exc:
        return _score_error("ScorerError", str(exc))
    except Exception as exc:
        shown = _raised(exc)
        return _score_error(type(shown).__name__, _message(shown), **_origin(shown))
    except BaseException as exc:  # a scorer calling sys.exit fails its score, not the run
        if _stops_the_run(exc):
            raise
        return _score_error(type(exc).__name__, _message(exc), **_origin(exc))
    record: dict[str, Any] = {"value": score.value, "passed": score.passed, "reason": score.reason}
    if score.details:
        record["details"] = score.details
    return record


def _find_step(steps: Sequence[Mapping[str, Any]], step_id: str) -> Mapping[str, Any] | None:
    """The first workflow step named `step_id`, at any depth."""
    return next((s for s in walk_steps(steps) if s.get("type") == "workflow_step" and s.get("name") == step_id), None)


def _optional_step(expected_trajectory: Mapping[str, Any] | None, step_id: str) -> bool:
    """Whether the item's expected trajectory marks step `step_id` `optional: true`."""
    steps = (expected_trajectory or {}).get("steps") or []
    return any(s.get("name") == step_id and s.get("optional") for s in walk_steps(steps))


def _score_error(kind: str, message: str, **origin: str) -> dict[str, Any]:
    """A score record of a scorer that failed; `origin` is where its code raised (`_origin`)."""
    return {"value": None, "passed": None, "reason": None, "error": {"type": kind, "message": message, **origin}}
