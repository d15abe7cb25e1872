"""A run whose process was killed outright, told apart from a live one; and a
run of `gitevals run` cancelled from the web UI: real `gitevals run`
processes, real signals, over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitevals.formats import RunManifest, RunProcess
from gitevals.runs import (
    RESULTS,
    current_process,
    interrupt_refusal,
    read_manifest,
    read_results,
    run_liveness,
    update_manifest,
)
from tests.cli.test_cli import invoke
from tests.conftest import ProjectDir
from tests.ui.test_ui import ORIGIN, post, project_with_runs, serving
from tests.ui.test_ui_follow import ITEMS, events, running_again, slow_project, sse_lines, start_cli_run

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="tells processes apart by their start in /proc/PID/stat (Linux)")


def wait_for_results(folder: Path, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(read_results(folder)) < count:
        assert time.monotonic() < deadline, "the run recorded too few results"
        time.sleep(0.05)


def sleeper() -> subprocess.Popen[bytes]:
    """A live process that is not a run: it must never get a signal from a request."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def claimed_by(folder: Path, **process: Any) -> RunManifest:
    """The run folder's run.json made to say `running` in the given process."""
    return update_manifest(folder, status="running", finished_at=None, summary=None, gates=[],
                           process=RunProcess(**{"host": socket.gethostname(), **process}))


@linux_only
def test_a_killed_cli_run_is_shown_as_gone_and_its_stream_ends_at_once(project: ProjectDir, client_for: Any) -> None:
    slow_project(project)
    process, folder = start_cli_run(project, "steps")
    try:
        manifest = read_manifest(folder)
        assert manifest.process is not None and manifest.process.pid == process.pid
        assert manifest.process.host == socket.gethostname() and manifest.process.interruptible
        assert manifest.process.start_ticks is not None and manifest.process.started is not None
        assert run_liveness(manifest) == "running"
        wait_for_results(folder, 2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    run_id = folder.name
    manifest = read_manifest(folder)
    kept = len(read_results(folder))
    assert manifest.status == "running" and 2 <= kept < len(ITEMS)  # nothing could record its end
    assert run_liveness(manifest) == "gone" and interrupt_refusal(manifest) is not None
    resume = f"gitevals run steps --resume {run_id}"

    listed = invoke(project, "runs", "list")
    assert listed.exit_code == 0 and "running (process gone)" in listed.output
    assert f"complete it with `{resume}`" in listed.output
    shown = invoke(project, "runs", "show", run_id)
    assert "status running (process gone)" in shown.output
    assert f"process {process.pid} on {socket.gethostname()} is gone" in shown.output and resume in shown.output

    client = client_for(project)
    page = client.get(f"/runs/{run_id}").text
    assert 'id="process-gone"' in page and f"Resume with <code>{resume}</code>" in page
    assert 'id="live"' not in page and "Cancel the run" not in page
    assert "(process gone)" in client.get("/evals/steps").text and "(process gone)" in client.get("/evals").text
    began = time.monotonic()
    stream = events(client, run_id)  # follow.IDLE_S is left at its 300 s
    assert time.monotonic() - began < 5
    assert [name for name, _ in stream] == ["start"] + ["item"] * kept + ["end"]
    end = stream[-1][1]
    assert end["status"] == "running" and end["gone"] is True and end["done"] == kept
    assert end["error"] == f"the process running it is gone; resume with {resume}"

    resumed = invoke(project, "run", "steps", "--resume", run_id)  # the hint works
    assert resumed.exit_code == 1, resumed.output  # it completed; its failing last item fails the run
    manifest = read_manifest(folder)
    assert manifest.status == "completed" and manifest.process is None
    assert sorted(r["item_id"] for r in read_results(folder)) == ITEMS


@linux_only
def test_a_cli_run_is_cancelled_from_the_ui_and_ends_interrupted(project: ProjectDir) -> None:
    slow_project(project)
    with serving(project) as url:
        process, folder = start_cli_run(project, "steps")
        run_id = folder.name
        received: list[tuple[str | None, dict[str, Any]]] = []

        def follow() -> None:
            with httpx.stream("GET", f"{url}/runs/{run_id}/events", timeout=30) as response:
                received.extend(sse_lines(response.iter_lines()))

        reader = threading.Thread(target=follow)
        reader.start()
        try:
            wait_for_results(folder, 2)
            page = httpx.get(f"{url}/runs/{run_id}").text
            assert 'id="cancel-form"' in page and f"pid {process.pid} on {socket.gethostname()}" in page
            # the run is not resumed by a second process while it runs
            twice = invoke(project, "run", "steps", "--resume", run_id)
            assert twice.exit_code == 2 and f"is still running, in process {process.pid}" in twice.output
            refused = httpx.post(f"{url}/runs/{run_id}/cancel", follow_redirects=False)  # no Origin
            assert refused.status_code == 403 and process.poll() is None
            cancelled = httpx.post(f"{url}/runs/{run_id}/cancel", headers={"Origin": url}, follow_redirects=False)
            assert cancelled.status_code == 303 and cancelled.headers["location"] == f"/runs/{run_id}"
            _, stderr = process.communicate(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
            reader.join(30)
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr
    manifest = read_manifest(folder)
    assert manifest.status == "interrupted" and manifest.error == "interrupted" and manifest.process is None
    kept = [r["item_id"] for r in read_results(folder)]
    assert len(kept) >= 2 and kept == ITEMS[: len(kept)]  # every finished item, once
    assert received[-1][0] == "end" and received[-1][1]["status"] == "interrupted"
    assert received[-1][1]["done"] == len(kept)


@linux_only
def test_a_request_never_signals_a_process_that_is_not_provably_the_run(project: ProjectDir,
                                                                         client_for: Any) -> None:
    project_with_runs(project, runs=1)
    [folder] = (project.root / "runs/support").iterdir()
    run_id = folder.name
    other = sleeper()
    try:
        ticks = current_process().start_ticks
        assert ticks is not None
        their_ticks = int(Path(f"/proc/{other.pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        client = client_for(project)
        cases = [  # (the process run.json claims, liveness, why the UI refuses)
            ({"pid": other.pid, "host": "elsewhere.example", "start_ticks": their_ticks, "interruptible": True},
             "unknown", "it runs on elsewhere.example, not on this machine"),
            ({"pid": other.pid, "start_ticks": their_ticks + 1, "interruptible": True},  # the pid was reused
             "gone", "is gone; complete it with `gitevals run support --resume"),
            ({"pid": other.pid, "start_ticks": their_ticks},  # e.g. another `gitevals ui`
             "running", "does more than this run"),
            ({"pid": other.pid, "interruptible": True},  # no start recorded: cannot be confirmed
             "running", f"cannot confirm that pid {other.pid} is still the process that started it"),
            ({"pid": os.getpid(), "start_ticks": ticks, "interruptible": True}, "running", "runs in this process"),
        ]
        for claim, liveness, reason in cases:
            manifest = claimed_by(folder, **claim)
            assert run_liveness(manifest) == liveness, claim
            assert "Cancel the run" not in client.get(f"/runs/{run_id}").text, claim
            refused = post(client, f"/runs/{run_id}/cancel", {})
            assert refused.status_code == 400 and reason in refused.text, claim
            assert other.poll() is None, claim
        # found by anything but its whole id (`latest`, an eval name, the id's end), a run is not cancelled
        claimed_by(folder, pid=other.pid, start_ticks=their_ticks, interruptible=True)
        for ref in ("latest", "support", run_id[-7:]):
            assert post(client, f"/runs/{ref}/cancel", {}).status_code == 404, ref
        assert post(client, f"/runs/{run_id}/cancel", {}, Origin="http://evil.example").status_code == 403
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_an_exited_process_is_gone_even_before_it_is_collected(project: ProjectDir) -> None:
    project_with_runs(project, runs=1)
    [folder] = (project.root / "runs/support").iterdir()
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    manifest = claimed_by(folder, pid=done.pid)
    while run_liveness(manifest) != "gone":  # a zombie until its parent (this test) collects it
        assert time.monotonic() < deadline
        time.sleep(0.02)
    done.wait()
    assert run_liveness(manifest) == "gone"


def test_a_run_json_without_a_process_still_loads(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=1)
    folder = running_again(project)  # as gitevals wrote it before run.json named the process
    data = json.loads((folder / "run.json").read_text())
    data.pop("process", None)
    (folder / "run.json").write_text(json.dumps(data))
    manifest = read_manifest(folder)
    assert manifest.process is None and run_liveness(manifest) == "unknown"
    listed = invoke(project, "runs", "list")
    assert "running" in listed.output and "process gone" not in listed.output
    assert "does not name the process recording it" in invoke(project, "runs", "show", folder.name).output
    page = client_for(project).get(f"/runs/{folder.name}").text
    assert 'id="live"' in page and "process gone" not in page and "Cancel the run" not in page
    with pytest.raises(ValueError, match="greater than 0"):
        RunProcess(pid=0, host="here")  # never os.kill(0, ...): that is the whole process group


def test_a_finished_run_no_longer_names_its_process(project: ProjectDir) -> None:
    project_with_runs(project, runs=1)
    [folder] = (project.root / "runs/support").iterdir()
    manifest = read_manifest(folder)
    assert manifest.status == "completed" and manifest.process is None
    assert (folder / RESULTS).exists()


def test_the_ui_refuses_to_cancel_a_finished_run(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=1)
    [folder] = (project.root / "runs/support").iterdir()
    refused = client_for(project).post(f"/runs/{folder.name}/cancel", headers={"Origin": ORIGIN},
                                       follow_redirects=False)
    assert refused.status_code == 400 and "it is not running (status completed)" in refused.text
