"""Sync targets: 100,000 trivial items at concurrency 16, against the floor.

    python bench/sync_bench.py [--items N] [--repeat N]

The floor is what asyncio itself costs for the same work: every item through
`loop.run_in_executor` on one `ThreadPoolExecutor(16)`, 16 at a time. gitevals
runs the same function with `run_evals` (no scorers, results kept out of the
way), in the same process, best of `--repeat`; the figure is the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _timing import best, drain  # noqa: E402

from gitevals import run_evals  # noqa: E402

CONCURRENCY = 16


def echo(text: str) -> str:
    return text


async def floor(items: int) -> None:
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        await drain(range(items), CONCURRENCY, lambda n: loop.run_in_executor(pool, echo, str(n)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = [{"input": str(n)} for n in range(args.items)]
    floor_s = best(args.repeat, lambda: asyncio.run(floor(args.items)))
    ours_s = best(args.repeat, lambda: run_evals(echo, data, concurrency=CONCURRENCY))
    print(f"{args.items} sync items, concurrency {CONCURRENCY}: gitevals {ours_s:.2f} s, executor floor "
          f"{floor_s:.2f} s: {ours_s / floor_s:.2f}x the floor (target <= 1.3x)")


if __name__ == "__main__":
    main()
