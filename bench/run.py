"""gitevals benchmark: one command, a table of figures against targets.

    python bench/run.py [--repeat N] [--keep] [--strict]

Every workload runs in its own fresh process, timed from the outside (wall
time around the whole subprocess, start-up included) with the child's peak
RSS read from os.wait4. Projects are built in a temporary folder, each a git
repository with one commit; nothing is written inside the repository.
Progress goes to stderr, the table to stdout. See bench/README.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def _ensure_environment() -> None:
    """Re-run under the repository's .venv when gitevals is not importable here."""
    if importlib.util.find_spec("gitevals") is not None and importlib.util.find_spec("rich") is not None:
        return
    venv_python = REPO / ".venv" / "bin" / "python"
    if venv_python.exists() and not os.environ.get("GITEVALS_BENCH_REEXEC"):
        os.environ["GITEVALS_BENCH_REEXEC"] = "1"
        os.execv(str(venv_python), [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]])
    raise SystemExit("gitevals is not importable: run with the project's .venv/bin/python")


_ensure_environment()

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

ERR = Console(stderr=True, highlight=False, soft_wrap=True)
OUT = Console(highlight=False, width=None if sys.stdout.isatty() else 132)

# --- workload parameters -----------------------------------------------------

W1_ITEMS, W1_SLEEP_S, CONCURRENCY = 1_000, 0.020, 16
W2_ITEMS = 10_000
W3_ITEMS = 100_000
W3_MAX_RSS_MB = 150.0
LOAD_ITEMS = 10_000
HELP_REPEATS = 5

W1_IDEAL_S = W1_ITEMS * W1_SLEEP_S / CONCURRENCY  # 1.25 s
W1_MAX_RATIO = 1.25
W2_MAX_PER_ITEM_MS = 0.2
W2_MAX_RSS_MB = 150.0
HELP_MAX_S = 0.3
LOAD_MAX_S = 1.5

_RSS_SCALE = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux


def log(message: str) -> None:
    ERR.print(f"[dim]bench:[/] {message}")


# --- measuring one child process ---------------------------------------------


@dataclass
class Proc:
    cmd: list[str]
    wall_s: float
    maxrss_mb: float
    returncode: int
    stdout: str
    stderr: str

    def check(self, what: str) -> Proc:
        if self.returncode != 0:
            tail = (self.stderr.strip() or self.stdout.strip())[-2000:]
            raise BenchError(f"{what}: `{' '.join(self.cmd)}` exited {self.returncode}\n{tail}")
        return self


class BenchError(Exception):
    pass


def measure(cmd: list[str], cwd: Path | None = None) -> Proc:
    """Run `cmd` to completion; wall time around the whole process and its own peak RSS.

    os.wait4 on the child's pid gives that child's rusage alone (not the
    cumulative RUSAGE_CHILDREN of every earlier workload). Output goes to
    temporary files so a full pipe can never stall the child.
    """
    env = dict(os.environ)
    env.pop("GITEVALS_BENCH_REEXEC", None)
    env["CI"] = "1"  # plain progress lines, no live display
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Proc(
            cmd,
            wall,
            usage.ru_maxrss * _RSS_SCALE / 1e6,
            child.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )


def _plain_python_environment(pycache: Path) -> None:
    """Children run as in a user's shell: bytecode is cached, as after any pip
    install. Some sandboxes and CI images set PYTHONDONTWRITEBYTECODE, and then
    every run recompiles gitevals' ~60 modules (about 50 ms here) while the
    peer's libraries come precompiled; the cache goes to `pycache` (under the
    bench's temporary folder, so nothing is written into the repository) and
    the warm-up run fills it. PYTHONUNBUFFERED is dropped for the same reason."""
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"):
        if os.environ.pop(name, None) is not None:
            log(f"{name} unset for the measured processes")
    os.environ["PYTHONPYCACHEPREFIX"] = str(pycache)


def gitevals_command() -> list[str]:
    script = Path(sys.executable).parent / "gitevals"  # the console script next to this python
    return [str(script)] if script.exists() else [sys.executable, "-m", "gitevals"]


# --- the projects --------------------------------------------------------------

_QUESTIONS = [
    "How long do I have to ask for a refund on order {n} after it was delivered?",
    "My {thing} for account {n} still shows as pending, what should I do next?",
    "Can I change the shipping address of order {n} once it has already left the warehouse?",
    "Why was I charged twice for the {thing} on invoice {n} this month?",
    "Is the {thing} covered by the warranty if it stopped working after {d} days?",
    "How do I reset the password on account {n} when I no longer have the old email?",
    "Do you ship the {thing} to Canada, and how many days does it usually take?",
    "What is the difference between the basic and pro plans for a team of {d} people?",
    "Please cancel my subscription {n} at the end of the current billing period.",
    "The {thing} arrived damaged (order {n}), can I get a replacement instead of a refund?",
]
_THINGS = ["refund", "payment", "subscription", "replacement", "gift card", "exchange", "credit note"]
_ANSWERS = [
    "30 days",
    "Contact support with the order number",
    "Yes, before it ships",
    "A duplicate charge is refunded within 5 business days",
    "Yes, for 12 months",
    "Use the account recovery form",
    "Yes, 7-10 business days",
    "Pro adds SSO and audit logs",
    "Cancelled at period end",
    "Yes, a replacement is sent free of charge",
]
_TAGS = ["billing", "shipping", "account", "warranty", "plans", "refunds", "escalation", "vip"]
_CHANNELS = ["email", "chat", "phone"]


def _item(rng: random.Random, index: int, echo: bool) -> dict[str, Any]:
    which = rng.randrange(len(_QUESTIONS))
    text = _QUESTIONS[which].format(n=rng.randrange(10_000, 99_999), thing=rng.choice(_THINGS), d=rng.randrange(2, 90))
    if len(text) < 50:
        text += " Thanks in advance."
    text = text[:100]
    return {
        "id": f"support-{index:05d}",
        "input": text,
        "expected": text if echo else _ANSWERS[which],
        "context": {
            "tags": sorted(set(rng.sample(_TAGS, rng.randrange(1, 4)))),
            "channel": rng.choice(_CHANNELS),
            "priority": rng.choice(["low", "normal", "high"]),
        },
    }


def write_dataset(path: Path, n: int, *, echo: bool, seed: int) -> None:
    """A block-style YAML dataset, as a person (or `gitevals dataset add`) would write it."""
    rng = random.Random(seed)
    q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    lines = [f"description: {n} synthetic customer-support questions for the benchmark", "items:"]
    for index in range(n):
        item = _item(rng, index, echo)
        ctx = item["context"]
        lines += [
            f"  - id: {item['id']}",
            f"    input: {q(item['input'])}",
            f"    expected: {q(item['expected'])}",
            "    context:",
            f"      tags: [{', '.join(ctx['tags'])}]",
            f"      channel: {ctx['channel']}",
            f"      priority: {ctx['priority']}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


TARGETS_PY = '''\
"""Benchmark targets."""
import asyncio


async def sleepy(text):
    await asyncio.sleep(0.020)
    return text


async def echo(text):
    return text
'''


def build_project(root: Path) -> None:
    (root / "datasets").mkdir(parents=True)
    (root / "evals").mkdir()
    (root / "gitevals.yaml").write_text("python_path: [.]\n", encoding="utf-8")
    (root / "bench_targets.py").write_text(TARGETS_PY, encoding="utf-8")
    (root / ".gitignore").write_text("runs/\n__pycache__/\n", encoding="utf-8")
    write_dataset(root / "datasets" / "one.yaml", 1, echo=True, seed=0)
    write_dataset(root / "datasets" / "w1.yaml", W1_ITEMS, echo=True, seed=1)
    write_dataset(root / "datasets" / "w2.yaml", W2_ITEMS, echo=True, seed=2)
    write_dataset(root / "datasets" / "support-10k.yaml", LOAD_ITEMS, echo=False, seed=3)
    # In a child process: a forked child's peak RSS starts at its parent's, so
    # the parent must not grow by building 100,000 items itself.
    script = ("import pathlib, sys; sys.path.insert(0, sys.argv[1]); import run; "
              "run.write_dataset(pathlib.Path(sys.argv[2]), int(sys.argv[3]), echo=True, seed=4)")
    subprocess.run([sys.executable, "-c", script, str(BENCH), str(root / "datasets" / "w3.yaml"), str(W3_ITEMS)], check=True)
    for name, dataset, target in (
        ("w0", "one", "echo"),
        ("w1", "w1", "sleepy"),
        ("w2", "w2", "echo"),
        ("w3", "w3", "echo"),
    ):
        (root / "evals" / f"{name}.yaml").write_text(
            f"dataset: {dataset}\ntarget: bench_targets:{target}\nscorers: [exact_match]\n"
            f"concurrency: {CONCURRENCY}\n",
            encoding="utf-8",
        )
    git = ["git", "-c", "user.name=gitevals-bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "benchmark project"]):
        subprocess.run([*git, *args], cwd=root, check=True, stdout=subprocess.DEVNULL)


# --- workloads -------------------------------------------------------------------


@dataclass
class RunFigures:
    proc: Proc
    loop_s: float | None  # summary.duration_s from run.json: the runner's own time


def run_eval(root: Path, name: str, n: int) -> RunFigures:
    """`gitevals run NAME` in the project; checks that every item was written and passed."""
    runs = root / "runs" / name
    before = set(runs.iterdir()) if runs.is_dir() else set()
    proc = measure([*gitevals_command(), "run", name], cwd=root).check(f"gitevals run {name}")
    new = sorted(set(runs.iterdir()) - before)
    if len(new) != 1:
        raise BenchError(f"gitevals run {name}: expected one new run folder, found {len(new)}")
    folder = new[0]
    with open(folder / "results.jsonl", encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
    manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    summary = manifest.get("summary") or {}
    pass_rate = (summary.get("scores", {}).get("exact_match") or {}).get("pass_rate")
    if lines != n or summary.get("completed") != n or pass_rate != 1.0 or manifest.get("status") != "completed":
        raise BenchError(
            f"gitevals run {name}: {lines} result lines, completed={summary.get('completed')}, "
            f"pass_rate={pass_rate}, status={manifest.get('status')} (expected {n} all passing)"
        )
    return RunFigures(proc, summary.get("duration_s"))


def run_peer(work: Path, n: int, sleep_s: float, *, core_deps: str | None = None) -> Proc:
    """The bare anyio peer; `core_deps` "import" or "use" first imports (or
    also uses) click, pydantic and ruamel.yaml: the floors of a run on that stack."""
    out = work / f"peer-{n}-{time.monotonic_ns()}.jsonl"
    extra = {None: [], "import": ["--with-core-deps"], "use": ["--using-core-deps"]}[core_deps]
    proc = measure([sys.executable, str(BENCH / "peer.py"), str(n), str(sleep_s), str(CONCURRENCY), str(out), *extra])
    proc.check(f"peer {n} items")
    with open(out, encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
    if lines != n:
        raise BenchError(f"peer {n} items: wrote {lines} lines")
    out.unlink()
    return proc


def run_load(path: Path) -> tuple[Proc, dict[str, Any]]:
    proc = measure([sys.executable, str(BENCH / "load_child.py"), str(path)]).check("load_dataset")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    if figures["items"] != LOAD_ITEMS:
        raise BenchError(f"load_dataset: {figures['items']} items, expected {LOAD_ITEMS}")
    return proc, figures


# --- the report ----------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    value: str
    target: str = ""
    peer: str = ""
    vs_peer: str = ""
    ok: bool | None = None  # None: reported for information, no target


def _s(seconds: float) -> str:
    return f"{seconds:.3f} s"


def _ms(ms: float) -> str:
    return f"{ms:.4f} ms"


def _x(ratio: float) -> str:
    return f"{ratio:.2f}x"


def render(rows: list[Row], title: str) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("bare anyio peer", justify="right")
    table.add_column("vs peer", justify="right")
    table.add_column("result", justify="center")
    for row in rows:
        result = "[dim]info[/]" if row.ok is None else ("[bold green]PASS[/]" if row.ok else "[bold red]FAIL[/]")
        table.add_row(row.measure, row.value, row.target, row.peer, row.vs_peer, result)
    OUT.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each workload; medians are reported (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects and print where they are")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any figure misses its target")
    args = parser.parse_args()
    repeat = max(1, args.repeat)

    spec = importlib.util.find_spec("gitevals")
    origin = Path(spec.origin).resolve() if spec and spec.origin else None
    if origin is not None and REPO not in origin.parents:
        log(f"[yellow]warning[/]: gitevals is imported from {origin}, not from {REPO}/src")
    log(f"python {sys.version.split()[0]} at {sys.executable}; gitevals CLI: {' '.join(gitevals_command())}")
    log(f"{os.cpu_count()} CPUs; {repeat} round(s); medians reported")

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="gitevals-bench-"))
    root = work / "project"
    _plain_python_environment(work / "pycache")
    try:
        log(f"building project in {root} ...")
        build_project(root)

        log("warm-up (bytecode caches, file cache) ...")
        run_eval(root, "w0", 1)
        run_peer(work, 1, 0.0)
        run_load(root / "datasets" / "support-10k.yaml")
        # A copy outside any git repository is parsed every time: no cache there.
        uncached = work / "outside-git" / "support-10k.yaml"
        uncached.parent.mkdir()
        shutil.copy(root / "datasets" / "support-10k.yaml", uncached)

        log(f"gitevals --help x {HELP_REPEATS} ...")
        helps = [measure([*gitevals_command(), "--help"]).check("gitevals --help").wall_s for _ in range(HELP_REPEATS)]

        trivial: list[float] = []
        peer_trivial: list[float] = []
        w1: list[RunFigures] = []
        w1_peer: list[Proc] = []
        w1_floor: list[Proc] = []
        w1_floor_use: list[Proc] = []
        w2: list[RunFigures] = []
        w2_peer: list[Proc] = []
        loads: list[tuple[Proc, dict[str, Any]]] = []
        cold_loads: list[tuple[Proc, dict[str, Any]]] = []
        # Rounds interleave gitevals and its peer so that a noisy spell hits both.
        for index in range(repeat):
            prefix = f"round {index + 1}/{repeat}:"
            log(f"{prefix} start-up (1-item run) ...")
            trivial.append(run_eval(root, "w0", 1).proc.wall_s)
            peer_trivial.append(run_peer(work, 1, 0.0).wall_s)
            log(f"{prefix} W1 ({W1_ITEMS} x {W1_SLEEP_S * 1000:g} ms, concurrency {CONCURRENCY}) ...")
            w1.append(run_eval(root, "w1", W1_ITEMS))
            w1_peer.append(run_peer(work, W1_ITEMS, W1_SLEEP_S))
            w1_floor.append(run_peer(work, W1_ITEMS, W1_SLEEP_S, core_deps="import"))
            w1_floor_use.append(run_peer(work, W1_ITEMS, W1_SLEEP_S, core_deps="use"))
            log(f"{prefix} W2 ({W2_ITEMS} zero-latency items) ...")
            w2.append(run_eval(root, "w2", W2_ITEMS))
            w2_peer.append(run_peer(work, W2_ITEMS, 0.0))
            log(f"{prefix} load_dataset ({LOAD_ITEMS} items) ...")
            loads.append(run_load(root / "datasets" / "support-10k.yaml"))
            cold_loads.append(run_load(uncached))
        log(f"W3 ({W3_ITEMS} zero-latency items, once: memory) ...")
        w3 = run_eval(root, "w3", W3_ITEMS)
    except BenchError as exc:
        ERR.print(f"[bold red]bench failed[/]: {exc}", highlight=False)
        return 2
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    help_s = med(helps)
    startup_s = med(trivial)
    peer_startup_s = med(peer_trivial)

    w1_wall = med(r.proc.wall_s for r in w1)
    w1_loop = med(r.loop_s for r in w1 if r.loop_s is not None)
    w1_peer_wall = med(p.wall_s for p in w1_peer)
    w1_floor_wall = med(p.wall_s for p in w1_floor)
    w1_floor_use_wall = med(p.wall_s for p in w1_floor_use)

    w2_wall = med(r.proc.wall_s for r in w2)
    w2_loop = med(r.loop_s for r in w2 if r.loop_s is not None)
    w2_peer_wall = med(p.wall_s for p in w2_peer)
    per_item_ms = (w2_wall - startup_s) / W2_ITEMS * 1000
    per_item_help_ms = (w2_wall - help_s) / W2_ITEMS * 1000
    peer_per_item_ms = (w2_peer_wall - peer_startup_s) / W2_ITEMS * 1000
    w2_rss = max(r.proc.maxrss_mb for r in w2)
    w2_peer_rss = max(p.maxrss_mb for p in w2_peer)

    load_wall = med(p.wall_s for p, _ in loads)
    load_with_import = med(f["import_s"] + f["load_s"] for _, f in loads)
    load_alone = med(f["load_s"] for _, f in loads)
    cold_with_import = med(f["import_s"] + f["load_s"] for _, f in cold_loads)
    load_rss = max(p.maxrss_mb for p, _ in loads)

    rows = [
        Row("gitevals --help (median of 5)", _s(help_s), f"< {HELP_MAX_S:g} s", ok=help_s < HELP_MAX_S),
        Row("start-up: `gitevals run` of 1 item", _s(startup_s), "", _s(peer_startup_s), _x(startup_s / peer_startup_s)),
        Row(
            f"W1 wall ({W1_ITEMS} x {W1_SLEEP_S * 1000:g} ms, c={CONCURRENCY})",
            _s(w1_wall),
            f"<= {W1_MAX_RATIO * W1_IDEAL_S:.4g} s",
            _s(w1_peer_wall),
            _x(w1_wall / w1_peer_wall),
            w1_wall <= W1_MAX_RATIO * W1_IDEAL_S,
        ),
        Row(
            f"W1 ratio to ideal ({W1_IDEAL_S:g} s)",
            _x(w1_wall / W1_IDEAL_S),
            f"<= {W1_MAX_RATIO:g}x",
            _x(w1_peer_wall / W1_IDEAL_S),
            ok=w1_wall / W1_IDEAL_S <= W1_MAX_RATIO,
        ),
        Row("W1 floor: the peer importing click, pydantic, ruamel.yaml first", _x(w1_floor_wall / W1_IDEAL_S), "",
            "", _x(w1_wall / w1_floor_wall)),
        Row("W1 floor: the peer also parsing a YAML config with click, ruamel.yaml, pydantic",
            _x(w1_floor_use_wall / W1_IDEAL_S), "", "", _x(w1_wall / w1_floor_use_wall)),
        Row("W1 runner loop alone (run.json duration_s)", _s(w1_loop), "", "", ""),
        Row(f"W2 wall ({W2_ITEMS} zero-latency items)", _s(w2_wall), "", _s(w2_peer_wall), _x(w2_wall / w2_peer_wall)),
        Row(
            "W2 per-item overhead (wall - 1-item run) / N",
            _ms(per_item_ms),
            f"<= {W2_MAX_PER_ITEM_MS:g} ms",
            _ms(peer_per_item_ms),
            _x(per_item_ms / peer_per_item_ms) if peer_per_item_ms > 0 else "-",
            per_item_ms <= W2_MAX_PER_ITEM_MS,
        ),
        Row("W2 per-item overhead (wall - --help) / N", _ms(per_item_help_ms), "", "", ""),
        Row("W2 runner loop alone per item (duration_s / N)", _ms(w2_loop / W2_ITEMS * 1000), "", "", ""),
        Row(
            "W2 peak RSS (max over rounds)",
            f"{w2_rss:.1f} MB",
            f"< {W2_MAX_RSS_MB:g} MB",
            f"{w2_peer_rss:.1f} MB",
            _x(w2_rss / w2_peer_rss),
            w2_rss < W2_MAX_RSS_MB,
        ),
        Row(
            f"load_dataset {LOAD_ITEMS} items, first time (parsed), import + load",
            _s(cold_with_import),
            f"< {LOAD_MAX_S:g} s",
            ok=cold_with_import < LOAD_MAX_S,
        ),
        Row(
            f"load_dataset {LOAD_ITEMS} items, unchanged file (cached), import + load",
            _s(load_with_import),
            f"< {LOAD_MAX_S:g} s",
            ok=load_with_import < LOAD_MAX_S,
        ),
        Row(f"load_dataset {LOAD_ITEMS} items, cached, load alone", _s(load_alone), f"< {LOAD_MAX_S:g} s",
            ok=load_alone < LOAD_MAX_S),
        Row(f"W3 wall ({W3_ITEMS} zero-latency items)", _s(w3.proc.wall_s), "", "", ""),
        Row("W3 peak RSS", f"{w3.proc.maxrss_mb:.1f} MB", f"< {W3_MAX_RSS_MB:g} MB", ok=w3.proc.maxrss_mb < W3_MAX_RSS_MB),
        Row("load_dataset whole process (interpreter included)", _s(load_wall), "", "", ""),
        Row("load_dataset process peak RSS (max over rounds)", f"{load_rss:.1f} MB", "", "", ""),
    ]
    render(
        rows,
        f"gitevals benchmark - medians of {repeat} round(s), {os.cpu_count()} CPUs, "
        f"python {sys.version.split()[0]}, {time.perf_counter() - started:.0f} s total",
    )
    failed = [row.measure for row in rows if row.ok is False]
    if failed:
        log(f"[red]{len(failed)} figure(s) missed their target[/]")
    return 1 if (failed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
