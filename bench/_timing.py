"""What the in-process benchmarks share: the best of a few timed runs, and the
floor's shape (N workers pulling from one iterator, as the runner's do)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def best(repeat: int, run: Callable[[], Any]) -> float:
    """The fastest of `repeat` runs of `run()`, in seconds: the least disturbed by a noisy machine."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


async def drain(todo: Iterable[T], workers: int, work: Callable[[T], Awaitable[Any]]) -> None:
    """`work(x)` for every x of `todo`, `workers` at a time."""
    shared = iter(todo)

    async def worker() -> None:
        for x in shared:
            await work(x)

    await asyncio.gather(*(worker() for _ in range(workers)))
