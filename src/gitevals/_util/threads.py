"""Running sync code in daemon threads, so that a call abandoned after its
timeout cannot keep the process alive.

anyio's worker threads are not daemons: a sync target that never returns
would hold one forever and the interpreter would wait for it at exit, long
after the run was recorded. Here the call runs in a daemon thread of a pool
that grows to as many threads as calls run at once (the eval's concurrency)
and keeps them while work comes; the thread hands its outcome straight to the
event loop, and a caller that is cancelled (a timeout) simply stops waiting.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

__all__ = ["ExitInThread", "run_sync_in_daemon_thread"]

T = TypeVar("T")

_IDLE_S = 10.0  # an idle thread waits this long for work, then ends
_jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_lock = threading.Lock()
_idle = 0  # threads waiting for a job that no caller has claimed yet


class ExitInThread(Exception):
    """`fn` raised a BaseException that is not an Exception (SystemExit, say, from
    argparse in a wrapped CLI, or KeyboardInterrupt) in its worker thread. A real
    Ctrl-C only ever reaches the main thread, so this one is the code's own: it
    arrives as an ordinary exception, never as a request to stop."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original


async def run_sync_in_daemon_thread(fn: Callable[[], T]) -> T:
    """`fn()` in a daemon thread, with the caller's context variables. When the
    caller is cancelled, `fn` is left to finish (or not) on its own."""
    context = contextvars.copy_context()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # pragma: no cover - trio: an anyio worker thread waits for the daemon
        outcome = await _on_any_loop(fn, context)
    else:
        outcome = await _on_asyncio(loop, fn, context)
    ok, value = outcome
    if not ok:
        if not isinstance(value, Exception):
            raise ExitInThread(value) from value
        raise value
    return value  # type: ignore[no-any-return]


async def _on_asyncio(loop: asyncio.AbstractEventLoop, fn: Callable[[], Any],
                      context: contextvars.Context) -> tuple[bool, Any]:
    """The daemon thread hands its outcome to the loop itself: no thread of the
    loop's waits for it, so a call costs one hand-over each way."""
    future: asyncio.Future[tuple[bool, Any]] = loop.create_future()

    def settle(outcome: tuple[bool, Any]) -> None:
        if not future.done():  # cancelled meanwhile: the caller has gone
            future.set_result(outcome)

    def job() -> None:
        try:
            outcome: tuple[bool, Any] = (True, context.run(fn))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
            outcome = (False, exc)
        try:
            loop.call_soon_threadsafe(settle, outcome)
        except RuntimeError:  # the loop closed while fn ran: nobody waits for it
            pass

    _submit(job)
    return await future


async def _on_any_loop(fn: Callable[[], Any], context: contextvars.Context) -> tuple[bool, Any]:
    done = threading.Event()
    outcome: list[tuple[bool, Any]] = []

    def job() -> None:
        try:
            outcome.append((True, context.run(fn)))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
            outcome.append((False, exc))
        finally:
            done.set()

    _submit(job)
    try:
        await anyio.to_thread.run_sync(done.wait, abandon_on_cancel=True)
    finally:
        done.set()  # when cancelled: frees the anyio thread that waits; the daemon is left behind
    return outcome[0]


def _submit(job: Callable[[], None]) -> None:
    global _idle
    with _lock:
        spawn = _idle == 0
        if not spawn:
            _idle -= 1
    if spawn:
        threading.Thread(target=_serve, name="gitevals target", daemon=True).start()
    _jobs.put(job)


def _serve() -> None:
    global _idle
    while True:
        try:
            job = _jobs.get(timeout=_IDLE_S)
        except queue.Empty:
            with _lock:
                if _idle > 0:  # no caller counts on this thread: end it
                    _idle -= 1
                    return
            continue  # a caller claimed it and its job is on the way
        job()
        del job
        with _lock:
            _idle += 1
