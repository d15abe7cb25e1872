"""The peer: the same work as W1 / W2 written as a bare anyio script.

    python bench/peer.py N SLEEP_S CONCURRENCY OUT.jsonl [--with-core-deps | --using-core-deps]

N items (a string input each), CONCURRENCY workers pulling from one iterator,
each call awaits asyncio.sleep(SLEEP_S) (skipped when 0, like a zero-latency
async target) and returns its input; the check is input == expected, and one
JSON line per item is written and flushed as it finishes. This is the floor
that gitevals' own overhead is measured against.

`--with-core-deps` first imports what any gitevals command must load before
it can read a config (click, pydantic, ruamel.yaml), and nothing else: the
floor for a tool built on the stack DESIGN.md prescribes. `--using-core-deps`
also uses each once, as the least a run must do: a click command parses its
argument, ruamel.yaml's safe C loader reads a three-line config, and one small
pydantic model (extra='forbid') validates it. Building a first pydantic
validator loads pydantic's plugin machinery (importlib.metadata), which a bare
import does not.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import anyio


async def _sleepy(value: str, delay: float) -> str:
    await asyncio.sleep(delay)
    return value


async def _echo(value: str) -> str:
    return value


async def main(n: int, delay: float, concurrency: int, out_path: str) -> None:
    items = [(f"item-{i:05d}", f"question {i}: how long do I have to ask for a refund?") for i in range(n)]
    pairs = iter(items)
    passed = 0
    with open(out_path, "a", encoding="utf-8") as out:

        async def worker() -> None:
            nonlocal passed
            for item_id, text in pairs:
                began = time.perf_counter()
                output = await (_sleepy(text, delay) if delay > 0 else _echo(text))
                ok = output == text
                passed += ok
                record = {
                    "item_id": item_id,
                    "input": text,
                    "expected": text,
                    "output": output,
                    "latency_ms": round((time.perf_counter() - began) * 1000, 3),
                    "scores": {"exact_match": {"value": float(ok), "passed": ok}},
                }
                out.write(json.dumps(record) + "\n")
                out.flush()

        async with anyio.create_task_group() as group:
            for _ in range(max(1, min(concurrency, n))):
                group.start_soon(worker)
    if passed != n:
        raise SystemExit(f"peer: {passed}/{n} passed")


def _use_core_deps() -> None:
    import click
    import pydantic
    from ruamel.yaml import YAML

    class Config(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        dataset: str
        target: str
        scorers: list[str]

    @click.command()
    @click.argument("name")
    def command(name: str) -> None:
        raw = YAML(typ="safe").load(f"dataset: {name}\ntarget: bench_targets:sleepy\nscorers: [exact_match]\n")
        Config.model_validate(raw)

    command.main(["w1"], standalone_mode=False)


if __name__ == "__main__":
    if "--with-core-deps" in sys.argv:
        sys.argv.remove("--with-core-deps")
        import click  # noqa: F401
        import pydantic.main  # noqa: F401
        import ruamel.yaml  # noqa: F401
    if "--using-core-deps" in sys.argv:
        sys.argv.remove("--using-core-deps")
        _use_core_deps()
    n, delay, concurrency, out_path = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    anyio.run(main, n, delay, concurrency, out_path)
