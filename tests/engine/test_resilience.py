"""Runs that survive the real world: kills, resumes, retries, rate limits, error
budgets, re-running only what is needed, and shards."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gitevals import RetryableError, run_evals
from gitevals.project import find_project
from gitevals.runs import find_baseline, find_run, list_runs, read_results
from tests.conftest import ProjectDir, invoke

EXE = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"

SLOW_AGENT = '''
import asyncio, os, pathlib

async def run(x):
    await asyncio.sleep(float(os.environ.get("AGENT_DELAY", "0.05")))
    return x
'''



def make(project: ProjectDir, items: int = 40, extra: str = "") -> None:
    project.write("slow_agent.py", SLOW_AGENT)
    body = "".join(f"  - {{id: i{n:03d}, input: {n}, expected: {n}}}\n" for n in range(items))
    project.write("datasets/d.yaml", "items:\n" + body)
    project.write("evals/e.yaml", f"dataset: d\ntarget: slow_agent:run\nscorers: [exact_match]\nconcurrency: 4\n{extra}")
    project.git_init()
    project.commit()


def pairs(folder: Path) -> list[tuple[str, int]]:
    return [(r["item_id"], r["trial"]) for r in read_results(folder)]


def wait_for_lines(project: ProjectDir, count: int, timeout: float = 20) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list((project.root / "runs" / "e").glob("*/results.jsonl"))
        if found and len(found[0].read_bytes().splitlines()) >= count:
            return found[0].parent
        time.sleep(0.02)
    raise AssertionError("the run did not get going")


def test_sigkill_then_resume_runs_every_pair_exactly_once(project: ProjectDir) -> None:
    make(project, items=40, extra="trials: 2\n")
    proc = subprocess.Popen([EXE, "run", "e"], cwd=project.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = wait_for_lines(project, 12)
    proc.kill()
    proc.wait()
    with open(folder / "results.jsonl", "a") as handle:
        handle.write('{"item_id": "i039", "trial": 1, "torn')  # as if killed mid-write
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["status"] == "running"
    before = pairs(folder)
    assert 12 <= len(before) < 80
    done = subprocess.run([EXE, "run", "e", "--resume", folder.name], cwd=project.root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{80 - len(before)} of 80 left to run" in done.stdout
    after = pairs(folder)
    assert sorted(after) == sorted((f"i{n:03d}", t) for n in range(40) for t in range(2))
    assert after[: len(before)] == before  # kept as they were, new ones appended
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["status"] == "completed" and len(manifest["resumed_at"]) == 1
    assert manifest["summary"]["completed"] == 80 and manifest["summary"]["scores"]["exact_match"]["n"] == 40


def test_sigterm_stops_gracefully_and_tells_how_to_resume(project: ProjectDir) -> None:
    make(project, items=30)
    proc = subprocess.Popen([EXE, "run", "e"], cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    folder = wait_for_lines(project, 5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, out + err
    assert f"gitevals run e --resume {folder.name}" in out
    assert json.loads((folder / "run.json").read_text())["status"] == "interrupted"
    assert invoke(project, "run", "e", "--resume", "latest").exit_code == 0
    assert len(pairs(folder)) == 30


def test_resume_refuses_a_changed_dataset_unless_forced(project: ProjectDir) -> None:
    make(project, items=6)
    proc = subprocess.Popen([EXE, "run", "e"], cwd=project.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "AGENT_DELAY": "0.3"})
    folder = wait_for_lines(project, 1)
    proc.kill()
    proc.wait()
    path = project.root / "datasets/d.yaml"
    path.write_text(path.read_text() + "  - {id: extra, input: 99, expected: 99}\n")
    refused = invoke(project, "run", "e", "--resume", folder.name)
    assert refused.exit_code == 2 and "the dataset 'd' changed since it began" in refused.output
    assert "--force" in refused.output
    forced = invoke(project, "run", "e", "--resume", folder.name, "--force")
    assert forced.exit_code == 0
    assert ("extra", 0) in pairs(folder)
    again = invoke(project, "run", "e", "--resume", folder.name)
    assert again.exit_code == 2 and "already complete" in again.output


def test_resume_completes_the_runs_own_selection_and_lists_what_it_runs(project: ProjectDir) -> None:
    project.write("agent_mod.py", "import time\ndef run(x):\n    if x == 0:\n        raise RuntimeError('model down')\n"
                  "    time.sleep(0.15)\n    return x\n")
    body = "".join(f"  - {{id: i{n:02d}, input: {n}, expected: {n}, context: {{tags: [{'even' if n % 2 == 0 else 'odd'}]}}}}\n"
                   for n in range(12))
    project.write("datasets/d.yaml", "items:\n" + body)
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:run\nscorers: [exact_match]\nconcurrency: 1\n")
    project.git_init()
    project.commit()
    proc = subprocess.Popen([EXE, "run", "e", "--tag", "even", "--trials", "2"], cwd=project.root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = wait_for_lines(project, 4)
    proc.kill()
    proc.wait()
    before = pairs(folder)
    assert ("i00", 0) in before and len(before) < 12  # i00 errored: finished, not missing
    wrong = invoke(project, "run", "e", "--resume", folder.name, "--trials", "3")
    assert wrong.exit_code == 2 and f"run {folder.name} was made with --trials 2, not 3" in wrong.output
    missing = invoke(project, "run", "e", "--resume", "no-such-run")
    assert missing.exit_code == 2 and "no run 'no-such-run'" in missing.output
    assert pairs(folder) == before  # refused before anything ran
    # exactly the command an interrupted run prints: no --tag, no --trials
    done = subprocess.run([EXE, "run", "e", "--resume", folder.name], cwd=project.root, capture_output=True, text=True)
    assert done.returncode == 1, done.stdout + done.stderr  # it completes; i00's error fails the every-item gate
    wanted = [(f"i{n:02d}", t) for n in range(0, 12, 2) for t in range(2)]
    left = [pair for pair in wanted if pair not in before]
    assert f"{len(left)} of 12 left to run" in done.stdout
    assert "resuming: " + ", ".join(f"{i} (trial {t})" for i, t in left) in done.stdout
    after = pairs(folder)
    assert sorted(after) == sorted(wanted) and after[: len(before)] == before  # each pair once, odd items never
    assert [r["error"]["message"] for r in read_results(folder) if r["item_id"] == "i00"] == ["model down"] * 2


class FlakyServer:
    """A real HTTP server on 127.0.0.1 that answers 429 (with Retry-After) or 503 before it answers."""

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        self.script = list(script)
        self.times: list[float] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                server.times.append(time.monotonic())
                status, headers = server.script.pop(0) if server.script else (200, {})
                body = json.dumps({"answer": "ok"}).encode() if status == 200 else b"busy"
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/answer"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def flaky() -> Iterator[type[FlakyServer]]:
    servers: list[FlakyServer] = []

    def start(script: list[tuple[int, dict[str, str]]]) -> FlakyServer:
        servers.append(FlakyServer(script))
        return servers[-1]

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


def http_target(url: str):  # type: ignore[no-untyped-def]
    import httpx

    async def target(question: str) -> str:
        async with httpx.AsyncClient() as client:
            response = await client.post(url, json={"q": question})
            response.raise_for_status()
            return response.json()["answer"]

    return target


def test_429_with_retry_after_and_503_are_retried(flaky) -> None:  # type: ignore[no-untyped-def]
    server = flaky([(429, {"Retry-After": "1"}), (503, {}), (200, {})])
    result = run_evals(http_target(server.url), [{"input": "q", "expected": "ok"}], ["exact_match"], retries=3)
    [item] = result.items
    assert item.error is None and item.attempts == 3 and item.scores["exact_match"]["value"] == 1.0
    assert server.times[1] - server.times[0] >= 0.95  # waited for Retry-After


def test_retries_run_out_and_client_errors_are_not_retried(flaky) -> None:  # type: ignore[no-untyped-def]
    server = flaky([(503, {}), (503, {}), (503, {})])
    [item] = run_evals(http_target(server.url), [{"input": "q"}], retries=1).items
    assert item.attempts == 2 and item.error is not None and "503" in item.error["message"]
    server = flaky([(404, {}), (200, {})])
    [item] = run_evals(http_target(server.url), [{"input": "q"}], retries=3).items
    assert item.attempts == 1 and "404" in item.error["message"]


def test_retryable_error_from_a_python_target() -> None:
    calls = []

    def target(x: str) -> str:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise RetryableError("overloaded", retry_after=0.2)
        return x

    [item] = run_evals(target, [{"input": "x"}], retries=5).items
    assert item.attempts == 3 and item.error is None
    assert calls[1] - calls[0] >= 0.19 and calls[2] - calls[1] >= 0.19
    [once] = run_evals(lambda x: 1 / 0, [{"input": "x"}], retries=5).items
    assert once.attempts == 1 and once.error["type"] == "ZeroDivisionError"


def test_rate_limit_is_shared_by_all_concurrent_items() -> None:
    stamps: list[float] = []

    async def target(x: str) -> str:
        stamps.append(time.monotonic())
        return x

    run_evals(target, [{"input": str(n)} for n in range(11)], concurrency=8, rate_limit="20/s")
    stamps.sort()
    assert stamps[-1] - stamps[0] >= 0.45  # 10 gaps of 50 ms
    assert min(b - a for a, b in zip(stamps, stamps[1:], strict=False)) >= 0.04


def test_max_errors_stops_the_run_early(project: ProjectDir) -> None:
    project.write("bad_agent.py", "import time\ndef run(x):\n    time.sleep(0.01)\n    raise ValueError('broken model')\n")
    project.write("datasets/d.yaml", "items:\n" + "".join(f"  - {{id: i{n}, input: {n}}}\n" for n in range(50)))
    project.write("evals/e.yaml", "dataset: d\ntarget: bad_agent:run\nconcurrency: 2\nmax_errors: '10%'\n")
    result = invoke(project, "run", "e")
    assert result.exit_code == 1
    assert "stopped early: stopped after 6 target errors (max_errors allows 5)" in result.output
    [run] = list_runs(project.root / "runs", "e")
    assert run.manifest.status == "failed" and "max_errors" in (run.manifest.error or "")
    assert len(read_results(run.path)) < 50
    project.write("evals/e.yaml", "dataset: d\ntarget: bad_agent:run\nmax_errors: lots\n")
    bad = invoke(project, "run", "e")
    assert bad.exit_code == 2 and "e.yaml:3:13: max_errors 'lots' is not a count" in bad.output  # at the value


HANGING_AGENT = """
import time

def run(x):
    if x == "hang":
        while True:  # a sync call that never returns: it can only be abandoned
            time.sleep(1)
    if x == "boom":
        time.sleep(0.2)
        raise RuntimeError("model unavailable")
    return x
"""


def test_a_sync_target_that_never_returns_times_out_and_the_process_exits(project: ProjectDir) -> None:
    project.write("hang_agent.py", HANGING_AGENT)
    project.write("datasets/d.yaml", "items:\n  - {id: ok, input: ok, expected: ok}\n  - {id: stuck, input: hang}\n")
    project.write("evals/e.yaml", "dataset: d\ntarget: hang_agent:run\nscorers: [exact_match]\ntimeout_s: 0.5\n")
    project.write("datasets/d2.yaml", "items:\n  - {id: stuck, input: hang}\n  - {id: boom, input: boom}\n")
    project.write("evals/none.yaml", "dataset: d2\ntarget: hang_agent:run\ntimeout_s: 0.5\n")
    # the first error stops the run and abandons the call in flight, with no timeout at all
    project.write("evals/stop.yaml", "dataset: d2\ntarget: hang_agent:run\nmax_errors: 0\n")
    for eval_name, code in (("e", 1), ("none", 1), ("stop", 1)):
        started = time.monotonic()
        done = subprocess.run([EXE, "run", eval_name], cwd=project.root, capture_output=True, text=True, timeout=30)
        assert done.returncode == code, (eval_name, done.stdout, done.stderr)
        assert time.monotonic() - started < 10, eval_name  # not waiting on the abandoned thread at exit
    [run] = list_runs(project.root / "runs", "e")
    stuck = next(r for r in read_results(run.path) if r["item_id"] == "stuck")
    assert stuck["error"]["type"] == "timeout" and run.manifest.status == "completed"
    script = ("import sys, hang_agent\nfrom gitevals import run_evals\n"
              "result = run_evals(hang_agent.run, [{'input': 'hang'}], timeout_s=0.3)\n"
              "sys.exit(7 if result.summary.errors == 1 else 3)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=project.root, capture_output=True, text=True, timeout=30)
    assert done.returncode == 7, done.stderr  # a library user's script ends too


def test_only_failed_and_reuse(project: ProjectDir) -> None:
    project.write("agent_mod.py", "import pathlib\ndef run(x):\n    bad = pathlib.Path('bad.txt').read_text().split()\n"
                  "    return 'wrong' if str(x) in bad else x\n")
    project.write("bad.txt", "1 3")
    project.write("datasets/d.yaml", "items:\n" + "".join(f"  - {{id: i{n}, input: {n}, expected: {n}}}\n" for n in range(6)))
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:run\nscorers: [exact_match]\n")
    project.git_init()
    project.commit()
    assert invoke(project, "run", "e").exit_code == 1  # i1 and i3 fail
    first = list_runs(project.root / "runs", "e")[-1]
    (project.root / "bad.txt").write_text("")
    result = invoke(project, "run", "e", "--only-failed", first.id)
    assert result.exit_code == 0 and "2 items" in result.output
    retry = list_runs(project.root / "runs", "e")[-1]
    assert sorted(r[0] for r in pairs(retry.path)) == ["i1", "i3"] and retry.manifest.only_failed_from == first.id
    # change one item, then reuse the first run for the rest
    path = project.root / "datasets/d.yaml"
    path.write_text(path.read_text().replace("{id: i5, input: 5, expected: 5}", "{id: i5, input: 55, expected: 55}"))
    assert invoke(project, "run", "e", "--reuse", first.id).exit_code == 1  # i1 and i3 copied, failing
    reused = list_runs(project.root / "runs", "e")[-1]
    records = {r["item_id"]: r for r in read_results(reused.path)}
    assert sorted(records) == [f"i{n}" for n in range(6)]
    # unchanged items are copied as they were, failing ones too: only --only-failed re-runs those
    assert {k for k, r in records.items() if r.get("reused_from") == first.id} == {"i0", "i1", "i2", "i3", "i4"}
    assert records["i5"].get("reused_from") is None and records["i5"]["output"] == 55  # content changed: ran again
    assert reused.manifest.reused_from == first.id
    assert reused.manifest.summary.scores["exact_match"].mean == pytest.approx(4 / 6)
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:run\nscorers: [exact_match, contains]\n")
    assert invoke(project, "run", "e", "--reuse", first.id).exit_code == 0  # bad.txt is empty now: all pass
    rescored = list_runs(project.root / "runs", "e")[-1]
    assert all(r.get("reused_from") is None for r in read_results(rescored.path))  # scorers changed: all ran


def test_shards_cover_every_item_once_and_merge(project: ProjectDir) -> None:
    make(project, items=30)
    env = {**os.environ, "AGENT_DELAY": "0"}
    for index in (1, 2, 3):
        done = subprocess.run([EXE, "run", "e", "--shard", f"{index}/3"], cwd=project.root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    shards = list_runs(project.root / "runs", "e")
    ids = [pid for run in shards for pid, _ in pairs(run.path)]
    assert sorted(ids) == [f"i{n:03d}" for n in range(30)] and all(len(pairs(r.path)) < 30 for r in shards)
    assert invoke(project, "runs", "merge", shards[0].id, shards[1].id).output.count("shards missing: 3/3") == 1
    assert "given twice" in invoke(project, "runs", "merge", shards[0].id, shards[0].id, shards[1].id).output
    merged = invoke(project, "runs", "merge", *(r.id for r in shards))
    assert merged.exit_code == 0, merged.output
    [run] = [r for r in list_runs(project.root / "runs", "e") if r.manifest.merged_from]
    assert run.manifest.merged_from == [r.id for r in shards] and run.manifest.summary.total_items == 30
    assert [(g.metric, g.actual, g.passed) for g in run.manifest.gates] == [("failed_items", 0, True)]  # all shards
    assert len(pairs(run.path)) == 30
    # the merged run, not the last shard, is what `latest`, the eval's name and a baseline mean now
    runs_dir = project.root / "runs"
    assert find_run(runs_dir, "latest").id == find_run(runs_dir, "e").id == run.id
    assert find_baseline(find_project(project.root), "e", "HEAD").id == run.id
    project.commit("another commit")
    other = subprocess.run([EXE, "run", "e", "--shard", "3/3"], cwd=project.root, env=env, capture_output=True, text=True)
    assert other.returncode == 0
    newest = max(list_runs(project.root / "runs", "e"), key=lambda r: r.manifest.started_at)
    refused = invoke(project, "runs", "merge", shards[0].id, shards[1].id, newest.id)
    assert refused.exit_code == 2 and "their commit differs" in refused.output
    assert invoke(project, "run", "e", "--shard", "4/3").exit_code == 2


# A target that, like a tracing exporter, flushes from an atexit handler and a
# non-daemon thread: both must still run after `gitevals run` has finished.
FLUSHING_AGENT = '''
import atexit
import pathlib
import threading
import time


def _flush():
    pathlib.Path("flushed-atexit.txt").write_text("ok")


def _late_writer():
    time.sleep(0.3)
    pathlib.Path("flushed-thread.txt").write_text("ok")


atexit.register(_flush)
threading.Thread(target=_late_writer).start()


def run(text):
    return text
'''


def test_the_target_s_atexit_handlers_and_threads_still_run_at_exit(project: ProjectDir) -> None:
    project.write("flushing_agent.py", FLUSHING_AGENT)
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: hi, expected: hi}\n")
    project.write("evals/e.yaml", "dataset: d\ntarget: flushing_agent:run\nscorers: [exact_match]\n")
    done = subprocess.run([EXE, "run", "e"], cwd=project.root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (project.root / "flushed-atexit.txt").read_text() == "ok"
    assert (project.root / "flushed-thread.txt").read_text() == "ok"


MISBEHAVING = """
import argparse, asyncio, sys


def run(x):
    if x == "exit":
        argparse.ArgumentParser(prog="wrapped").parse_args(["--nope"])  # argparse calls sys.exit(2)
    if x == "interrupt":
        raise KeyboardInterrupt  # raised on a worker thread: the code's own, not a Ctrl-C
    if x == "generator":
        raise GeneratorExit
    return x


async def run_async(x):
    await asyncio.sleep(0)
    if x == "exit":
        sys.exit(3)
    return x


def strict(sample):
    if sample.output == "ok2":
        sys.exit("scorer gave up")
    return 1.0
"""


@pytest.mark.parametrize("target", ["bad_code:run", "bad_code:run_async"])
def test_user_code_that_exits_or_interrupts_is_its_items_error(project: ProjectDir, target: str) -> None:
    project.write("bad_code.py", MISBEHAVING)
    ids = ["ok", "exit", "interrupt", "generator", "ok2"]
    project.write("datasets/d.yaml", "items:\n" + "".join(f"  - {{id: {i}, input: {i}}}\n" for i in ids))
    project.write("evals/e.yaml", f"dataset: d\ntarget: {target}\nscorers: [\"bad_code:strict\"]\nconcurrency: 2\n")
    project.git_init()
    project.commit()
    done = subprocess.run([EXE, "run", "e"], cwd=project.root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr  # the failed items fail it: not 2, 3 or 130
    assert "Traceback" not in done.stdout + done.stderr
    [run] = list_runs(project.root / "runs", "e")
    assert run.manifest.status == "completed" and run.manifest.summary.total_items == 5
    records = {r["item_id"]: r for r in read_results(run.path)}
    assert records["ok"]["error"] is None and records["ok"]["scores"]["strict"]["value"] == 1.0
    exited = records["exit"]["error"]
    assert exited["type"] == "SystemExit" and "sys.exit(" in exited["message"]
    assert exited["where"].startswith(("bad_code.py:", "/")) or "argparse" in exited["where"], exited
    scorer = records["ok2"]["scores"]["strict"]
    assert scorer["value"] is None and scorer["error"]["type"] == "SystemExit"
    assert "scorer gave up" in scorer["error"]["message"]
    if target.endswith(":run"):  # the sync target runs on a worker thread
        assert records["interrupt"]["error"]["type"] == "KeyboardInterrupt"
        assert records["generator"]["error"]["type"] == "GeneratorExit"
