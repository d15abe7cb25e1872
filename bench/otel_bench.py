"""Span capture's cost: an echo target that opens 5 GenAI spans per item.

    python bench/otel_bench.py [--items N] [--repeat N]

Three runs of the same eval, each `gitevals run` in a fresh process, best of
`--repeat`: the target without spans (`trace: off`); with its spans made by
an SDK tracer provider of its own but not captured (`trace: off`), as a user
who traces already pays; and captured (`trace: otel`). The figures are
capture's cost per item over the second, and the third against the first.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXE = REPO / ".venv" / "bin" / "gitevals"

AGENT = '''
import os
from opentelemetry import trace

if os.environ.get("BENCH_SDK") == "1":  # the user's own SDK set-up, exporting nowhere
    from opentelemetry.sdk.trace import TracerProvider

    trace.set_tracer_provider(TracerProvider())
tracer = trace.get_tracer("bench")
SPANS = os.environ.get("BENCH_SPANS") == "1"


def run(x):
    if not SPANS:
        return x
    with tracer.start_as_current_span("agent", attributes={"gen_ai.operation.name": "invoke_agent"}):
        for n in range(2):
            with tracer.start_as_current_span("chat", attributes={"gen_ai.operation.name": "chat",
                                                                   "gen_ai.usage.input_tokens": 10}):
                pass
        for n in range(2):
            with tracer.start_as_current_span("tool", attributes={"gen_ai.operation.name": "execute_tool",
                                                                   "gen_ai.tool.name": "t"}):
                pass
    return x
'''


def project(root: Path, items: int, trace: str) -> None:
    (root / "datasets").mkdir(parents=True)
    (root / "evals").mkdir()
    (root / "agent.py").write_text(AGENT)
    (root / "datasets/d.yaml").write_text("items:\n" + "".join(f"  - {{id: i{n}, input: {n}}}\n" for n in range(items)))
    (root / "evals/e.yaml").write_text(f"dataset: d\ntarget: agent:run\nconcurrency: 16\ntrace: {trace}\n")
    (root / "gitevals.yaml").write_text("{}\n")


def timed(root: Path, spans: bool, sdk: bool = False) -> float:
    env = {**os.environ, "BENCH_SPANS": "1" if spans else "0", "BENCH_SDK": "1" if sdk else "0", "CI": "1"}
    shutil.rmtree(root / "runs", ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([str(EXE), "run", "e", "--no-fail"], cwd=root, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain, captured = Path(tmp) / "off", Path(tmp) / "otel"
        project(plain, args.items, "off")
        project(captured, args.items, "otel")
        figures = {}
        for label, root, spans, sdk in (("no spans", plain, False, False),
                                        ("spans, not captured", plain, True, True),
                                        ("spans, captured", captured, True, True)):
            figures[label] = min(timed(root, spans, sdk) for _ in range(args.repeat))
            print(f"{label:22} {figures[label]:6.2f} s", file=sys.stderr)
    per_item_us = (figures["spans, captured"] - figures["spans, not captured"]) / args.items * 1e6
    print(f"{args.items} items, 5 spans each: capture costs {per_item_us:.0f} µs an item; the captured run takes "
          f"{figures['spans, captured'] / figures['no spans']:.2f}x the run without spans")


if __name__ == "__main__":
    main()
