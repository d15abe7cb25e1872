"""Following, on the run page, a run that `gitevals run` records in another
process: the run folder tailed over real HTTP, in a real browser, and torn
lines and stalled writers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitevals.runs import RESULTS, read_manifest, update_manifest
from gitevals.ui import follow
from tests.conftest import ProjectDir
from tests.ui.test_ui import CHROMIUM, CHROMIUM_ARGS, project_with_runs, serving

# Deterministic and slow enough to be watched: one item every 0.3 s.
SLOW_AGENT = '''
import time


def answer(question):
    time.sleep(0.3)
    return question.upper()
'''
ITEMS = [f"step-{n}" for n in range(1, 7)]


def slow_project(project: ProjectDir) -> ProjectDir:
    """Six items run one at a time; the last one fails."""
    project.write("slow_agent.py", SLOW_AGENT)
    project.write("datasets/steps.yaml", "items:\n" + "".join(
        f"  - id: {item}\n    input: {item}\n    expected: {'nope' if item == ITEMS[-1] else item.upper()}\n"
        for item in ITEMS))
    project.write("evals/steps.yaml", "dataset: steps\ntarget: slow_agent:answer\nscorers: [exact_match]\n"
                                      "concurrency: 1\n")
    project.write(".gitignore", "runs/\n__pycache__/\n")
    project.git_init()
    project.commit("initial")
    return project


def start_cli_run(project: ProjectDir, name: str) -> tuple[subprocess.Popen[str], Path]:
    """`gitevals run NAME` in another process, and its run folder once run.json exists."""
    exe = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"
    process = subprocess.Popen([exe, "-C", str(project.root), "run", name], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while True:
        folders = list((project.root / "runs" / name).glob("*/run.json"))
        if folders:
            return process, folders[0].parent
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.05)


def sse_lines(lines: Iterator[str]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(event, data) of a server-sent event stream, as they arrive."""
    name = None
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))


def test_a_run_started_from_the_cli_streams_its_items_as_they_are_recorded(project: ProjectDir) -> None:
    slow_project(project)
    with serving(project) as url:
        process, folder = start_cli_run(project, "steps")
        try:
            page = httpx.get(f"{url}/runs/{folder.name}")
            assert 'id="live"' in page.text and 'data-state="running"' in page.text
            assert "recorded by another process" in page.text
            assert "Cancel the run" in page.text  # a run of `gitevals run` on this machine: by SIGINT
            received = []
            with httpx.stream("GET", f"{url}/runs/{folder.name}/events", timeout=30) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                for name, data in sse_lines(response.iter_lines()):
                    # was the run still going when this event arrived?
                    received.append((name, data, read_manifest(folder).status == "running"))
        finally:
            output = process.communicate(timeout=30)
            assert process.returncode == 1, output  # the last item fails, and the eval sets no thresholds
    names = [name for name, _, _ in received]
    assert names == ["start"] + ["item"] * 6 + ["end"]
    assert received[0][1] == {"run_id": folder.name, "eval": "steps", "total": 6}
    items = [data for name, data, _ in received if name == "item"]
    assert [d["item_id"] for d in items] == ITEMS  # each exactly once, in the order they ran
    assert [d["done"] for d in items] == [1, 2, 3, 4, 5, 6] and all(d["total"] == 6 for d in items)
    assert [d["status"] for d in items] == ["passed"] * 5 + ["failed"]
    assert any(running for name, _, running in received if name == "item"), "no item arrived before the run ended"
    end = received[-1][1]
    assert (end["status"], end["done"], end["total"], end["passed"], end["failed"]) == ("completed", 6, 6, 5, 1)
    assert end["gates_passed"] is False and end["error"] is None  # the UI says what the exit code said


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow, "POLL_S", 0.05)
    monkeypatch.setattr(follow, "IDLE_S", 1.0)


def running_again(project: ProjectDir) -> Path:
    """The project's one finished run, its run.json made to say `running` again,
    as a writer that was killed outright leaves it."""
    [folder] = (project.root / "runs/support").iterdir()
    update_manifest(folder, status="running", finished_at=None, summary=None, gates=[])
    return folder


def events(client: Any, run_id: str, **headers: str) -> list[tuple[str | None, dict[str, Any]]]:
    with client.stream("GET", f"/runs/{run_id}/events", headers=headers) as response:
        return list(sse_lines(response.iter_lines()))


def test_a_torn_line_waits_for_its_end(tmp_path: Path) -> None:
    path = tmp_path / RESULTS
    whole = json.dumps({"item_id": "a", "trial": 0}) + "\n"
    torn = json.dumps({"item_id": "b", "trial": 0, "output": "a long answer"}) + "\n"
    path.write_text(whole + torn[:20])
    tail = follow.Tail(path)
    assert [r["item_id"] for r in tail.read()] == ["a"]
    assert tail.read() == []  # nothing new, and never half of b
    with open(path, "a") as handle:
        handle.write(torn[20:-1])
    assert tail.read() == []  # still no newline
    with open(path, "a") as handle:
        handle.write("\n")
    assert tail.read() == [{"item_id": "b", "trial": 0, "output": "a long answer"}]
    assert tail.read() == []


def test_a_run_that_stops_writing_ends_its_stream_with_a_note(project: ProjectDir, client_for: Any,
                                                              fast_polls: None) -> None:
    project_with_runs(project, runs=1)
    folder = running_again(project)
    with open(folder / RESULTS, "a") as handle:
        handle.write('{"item_id": "half-writ')  # the writer died mid-line
    client = client_for(project)
    page = client.get(f"/runs/{folder.name}")
    assert '<span id="live-count">4 / 4</span>' in page.text and 'id="live-note"' in page.text
    began = time.monotonic()
    stream = events(client, folder.name)
    assert time.monotonic() - began < 10
    assert [name for name, _ in stream] == ["start"] + ["item"] * 4 + ["end"]
    assert "half-writ" not in json.dumps(stream)
    end = stream[-1][1]
    assert end["status"] == "running" and end["stalled"] is True and end["done"] == 4
    assert end["error"] == "no new results for 1 s; the run may have stopped (reload the page to follow it again)"
    # a reconnecting EventSource gets only what it has not seen
    again = events(client, folder.name, **{"Last-Event-ID": "3"})
    assert [data["done"] for name, data in again if name == "item"] == [4]


def test_a_followed_run_ends_when_its_manifest_says_so(project: ProjectDir, client_for: Any,
                                                       fast_polls: None) -> None:
    project_with_runs(project, runs=1)
    folder = running_again(project)
    lines = (folder / RESULTS).read_text().splitlines(keepends=True)
    (folder / RESULTS).write_text("".join(lines[:2]) + lines[2][:15])

    def writer() -> None:  # the rest of the run, as another process writes it
        time.sleep(0.3)
        with open(folder / RESULTS, "a") as handle:
            handle.write(lines[2][15:])
            handle.flush()
            time.sleep(0.3)
            handle.write(lines[3])
        update_manifest(folder, status="interrupted", error="interrupted")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        stream = events(client_for(project), folder.name)
    finally:
        thread.join()
    items = [data for name, data in stream if name == "item"]
    assert [d["item_id"] for d in items] == [json.loads(line)["item_id"] for line in lines]
    assert stream[-1] == ("end", {"status": "interrupted", "done": 4, "total": 4, "error": "interrupted",
                                  "gates_passed": None, "passed": 3, "failed": 1, "errored": 0,
                                  "needs_review": 0})


def test_the_total_is_unknown_when_the_dataset_changed(project: ProjectDir, client_for: Any,
                                                      fast_polls: None) -> None:
    project_with_runs(project, runs=1)
    folder = running_again(project)
    (project.root / "datasets/support.yaml").write_text("items: []\n")
    page = client_for(project).get(f"/runs/{folder.name}")
    assert '<span id="live-count">4 / ?</span>' in page.text
    start = events(client_for(project), folder.name)[0]
    assert start == ("start", {"run_id": folder.name, "eval": "support", "total": None})


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                    "(apt-get install chromium; .ci/run installs it)")
def test_in_a_real_browser_the_run_page_follows_a_cli_run(project: ProjectDir) -> None:
    from playwright.sync_api import expect, sync_playwright

    slow_project(project)
    with serving(project) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        process, folder = start_cli_run(project, "steps")
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.goto(f"{url}/runs/{folder.name}")
            expect(page.locator("#live")).to_have_attribute("data-state", "finished", timeout=20_000)
            expect(page.locator("#live-status")).to_have_text("completed")
            expect(page.locator("#run-status")).to_have_text("completed")
            expect(page.locator("#live-count")).to_have_text("6 / 6")
            expect(page.locator("#live-items li")).to_have_count(6)
            expect(page.locator("#live-note")).to_be_hidden()
            page.get_by_role("link", name="Show the results").click()
            expect(page.locator("#totals")).to_contain_text("6 items: 6 completed, 0 target errors")
            assert errors == []
        finally:
            process.communicate(timeout=30)
            browser.close()
