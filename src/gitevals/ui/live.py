"""Runs started from the browser: run in the server's event loop, followed
live with server-sent events, and cancelled on request.

A run is `evals.arun_eval` in a task of the app's task group, recorded in
runs/ exactly as `gitevals run` records it. Each finished item becomes an
event in the run's list; every stream of that run replays the list from the
client's `Last-Event-ID` and then waits for more, and ends with an `end`
event once the run is over. Cancelling cancels the task: `arun_eval` then
marks the run `interrupted`, keeping every finished item. The same stream
of a run another process is recording follows its folder (`follow`), and
cancelling a run of `gitevals run` on this machine sends its process SIGINT,
as Ctrl-C in its terminal would (`liveness.interrupt_run`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from gitevals.engine import EvalPlan, ItemResult, arun_eval, plan_eval
from gitevals.errors import GitevalsError, NotFoundError
from gitevals.project import Project
from gitevals.runs import RunInfo, find_run, interrupt_run, item_status, read_manifest, read_results

from . import follow
from ._web import form_text, sse
from .runs import eval_response

__all__ = ["LiveRun", "LiveRuns", "routes"]

HEARTBEAT_S = 15.0


@dataclass
class LiveRun:
    """One run this server started, and what happened in it so far."""

    eval: str
    total: int
    id: str | None = None
    folder: Path | None = None
    status: str = "running"
    error: str | None = None
    gates_passed: bool | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("passed", "failed", "errored", "needs_review"), 0))
    events: list[dict[str, Any]] = field(default_factory=list)
    scope: anyio.CancelScope | None = None
    _changed: anyio.Event = field(default_factory=anyio.Event)

    @property
    def done(self) -> int:
        return len(self.events)

    @property
    def finished(self) -> bool:
        return self.status != "running"

    def add(self, result: ItemResult) -> None:
        status = item_status({"error": result.error, "scores": result.scores})
        self.counts[status] += 1
        self.events.append({"item_id": result.item.id, "trial": result.trial, "status": status,
                            "done": len(self.events) + 1, "total": self.total, **self.counts})
        self._notify()

    def finish(self, status: str, error: str | None = None, gates_passed: bool | None = None) -> None:
        if self.finished:
            return
        self.status, self.error, self.gates_passed = status, error, gates_passed
        self._notify()

    def end_event(self) -> dict[str, Any]:
        return {"status": self.status, "done": self.done, "total": self.total, "error": self.error,
                "gates_passed": self.gates_passed, **self.counts}

    def cancel(self) -> None:
        if self.scope is not None and not self.finished:
            self.scope.cancel()

    async def changed(self) -> None:
        await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()


class LiveRuns:
    """The runs this server started, by run id; they run in `group`."""

    def __init__(self) -> None:
        self.group: anyio.abc.TaskGroup | None = None
        self._runs: dict[str, LiveRun] = {}

    def get(self, run_id: str) -> LiveRun | None:
        return self._runs.get(run_id)

    def running_ids(self) -> set[str]:
        return {run_id for run_id, live in self._runs.items() if not live.finished}

    async def start(self, project: Project, plan: EvalPlan) -> LiveRun:
        """Start `plan` in the background; returns once its run folder exists."""
        if self.group is None:
            raise GitevalsError("the server is not running: cannot start a run")
        live = LiveRun(plan.name, len(plan.dataset.items) * plan.trials)
        started = anyio.Event()

        def on_start(folder: Path, manifest: Any, remaining: int) -> None:
            live.id, live.folder, live.total = manifest.id, folder, remaining
            self._runs[manifest.id] = live
            started.set()

        async def drive() -> None:
            with anyio.CancelScope() as scope:
                live.scope = scope
                try:
                    outcome = await arun_eval(project, plan, keep_results=False, on_start=on_start,
                                              on_item_complete=live.add)
                except Exception as exc:  # recorded in the manifest as `failed` by arun_eval
                    live.finish("failed", error=f"{type(exc).__name__}: {exc}")
                else:
                    live.finish(outcome.manifest.status, error=outcome.manifest.error, gates_passed=outcome.passed)
            live.finish("interrupted", error="cancelled")  # only when the run was cancelled
            started.set()

        self.group.start_soon(drive)
        await started.wait()
        if live.id is None:
            raise GitevalsError(f"the run of {plan.name} could not start: {live.error}")
        return live


def _int(form: Any, key: str) -> int | None:
    text = form_text(form, key)
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise GitevalsError(f"{key} must be a whole number of at least 1, not {text!r}")
    return int(text)


async def start_run(request: Request) -> Response:
    project: Project = request.app.state.project
    name = request.path_params["name"]
    form = await request.form()
    fields = {key: form_text(form, key) for key in ("concurrency", "trials", "tags")}
    try:
        concurrency, trials = _int(form, "concurrency"), _int(form, "trials")
        tags = [t for t in re.split(r"[,\s]+", fields["tags"]) if t]
        plan = await anyio.to_thread.run_sync(
            lambda: plan_eval(project, name, tags=tags, concurrency=concurrency, trials=trials))
        live = await request.app.state.live.start(project, plan)
    except NotFoundError:
        raise
    except GitevalsError as exc:
        message = str(exc)
    else:
        return RedirectResponse(f"/runs/{live.id}", status_code=303)
    return await anyio.to_thread.run_sync(
        lambda: eval_response(request, name, 400, form=fields, form_error=message))


async def cancel_run(request: Request) -> Response:
    run_id = request.path_params["run_id"]
    live = request.app.state.live.get(run_id)
    if live is None:
        return await _interrupt(request.app.state.project, run_id)
    live.cancel()
    with anyio.move_on_after(10):
        while not live.finished:
            await live.changed()
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


async def _interrupt(project: Project, run_id: str) -> Response:
    """Cancel a run another process on this machine records (`gitevals run`),
    then wait a little for it to record itself `interrupted`."""
    info = await anyio.to_thread.run_sync(_own_run, project, run_id)
    await anyio.to_thread.run_sync(interrupt_run, info.path)
    with anyio.move_on_after(10):
        while (await anyio.to_thread.run_sync(read_manifest, info.path)).status == "running":
            await anyio.sleep(0.1)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


def _own_run(project: Project, run_id: str) -> RunInfo:
    """The run folder `runs/<eval>/<run_id>` of this project, named by its exact id: a
    request never gets a process signalled through a run.json found anywhere else."""
    info = find_run(project.runs_dir, run_id)
    runs_dir = project.runs_dir.resolve()
    if info.path.name != run_id or info.id != run_id or info.path.resolve().parent.parent != runs_dir:
        raise NotFoundError(f"no run {run_id!r} in {project.relative(project.runs_dir)}/",
                            hint="cancel a run by its whole id, from its page")
    return info


async def run_events(request: Request) -> Response:
    """`item` events (one per finished item x trial, with the counts so far), then `end`."""
    run_id = request.path_params["run_id"]
    live = request.app.state.live.get(run_id)
    try:
        first = int(request.headers.get("last-event-id", "0"))
    except ValueError:
        first = 0
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    if live is None:
        project: Project = request.app.state.project
        info = await anyio.to_thread.run_sync(lambda: find_run(project.runs_dir, run_id))
        if info.manifest.status == "running":  # recorded by another process, as we watch
            return StreamingResponse(follow.follow_run(project, info.path, info.manifest, first),
                                     media_type="text/event-stream", headers=headers)
        return StreamingResponse(_recorded(info.path, info.manifest), media_type="text/event-stream",
                                 headers=headers)
    return StreamingResponse(_follow(live, first), media_type="text/event-stream", headers=headers)


async def _follow(live: LiveRun, index: int) -> AsyncIterator[str]:
    yield sse("start", {"run_id": live.id, "eval": live.eval, "total": live.total})
    while True:
        while index < len(live.events):
            index += 1
            yield sse("item", live.events[index - 1], index)
        if live.finished:
            yield sse("end", live.end_event())
            return
        with anyio.move_on_after(HEARTBEAT_S) as waited:
            await live.changed()
        if waited.cancelled_caught:
            yield ": still running\n\n"


async def _recorded(folder: Path, manifest: Any) -> AsyncIterator[str]:
    """A run this server is not running: what its folder holds, in one `end` event."""
    records = await anyio.to_thread.run_sync(read_results, folder)
    progress = follow.Progress(None)  # no total: it is what the folder holds
    for record in records:
        progress.add(record)
    yield sse("end", {**progress.end_event(manifest), "live": False})


routes = [
    Route("/evals/{name}/runs", start_run, methods=["POST"]),
    Route("/runs/{run_id}/events", run_events),
    Route("/runs/{run_id}/cancel", cancel_run, methods=["POST"]),
]
