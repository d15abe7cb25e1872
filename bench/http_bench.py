"""HTTP targets at high concurrency (W4): a local Starlette server answering
in 20 ms, `type: http` items at concurrency 32 and 256.

    python bench/http_bench.py [--items N] [--repeat N]

The server runs under uvicorn in its own process. The figures, each the best
of `--repeat`: gitevals' `run_evals` with an http target, against the floor
of the same requests made by one bare `httpx2.AsyncClient` (the client
gitevals uses) with unlimited keep-alive connections, N at a time, in the
same process; bare httpx and the ideal (items x 20 ms / concurrency) beside.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import httpx  # noqa: E402
import httpx2  # noqa: E402
from _timing import best, drain  # noqa: E402

from gitevals import run_evals  # noqa: E402

SERVER = '''
import asyncio, sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def answer(request):
    body = await request.json()
    await asyncio.sleep(0.020)
    return JSONResponse({"output": body["input"]})

uvicorn.run(Starlette(routes=[Route("/", answer, methods=["POST"])]), host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning", backlog=4096)
'''


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def floor(url: str, items: int, concurrency: int, library: object = httpx) -> None:
    limits = library.Limits(max_connections=None, max_keepalive_connections=None)  # type: ignore[attr-defined]
    async with library.AsyncClient(limits=limits, timeout=60) as client:  # type: ignore[attr-defined]

        async def post(n: int) -> None:
            (await client.post(url, json={"input": str(n)})).raise_for_status()

        await drain(range(items), concurrency, post)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(url, json={"input": "up"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        target = {"type": "http", "url": url, "body": {"input": "{{input}}"}, "output": "output"}
        data = [{"input": str(n)} for n in range(args.items)]
        for concurrency in (32, 256):
            ideal = args.items * 0.020 / concurrency
            httpx_s = best(args.repeat, lambda c=concurrency: asyncio.run(floor(url, args.items, c)))
            floor_s = best(args.repeat, lambda c=concurrency: asyncio.run(floor(url, args.items, c, httpx2)))
            ours_s = best(args.repeat, lambda c=concurrency: run_evals(target, data, concurrency=c))
            print(f"W4 {args.items} items, concurrency {concurrency}: gitevals {ours_s:.2f} s = {ours_s / floor_s:.2f}x "
                  f"the bare httpx2 floor ({floor_s:.2f} s); bare httpx {httpx_s:.2f} s; "
                  f"the ideal {ideal:.2f} s")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
