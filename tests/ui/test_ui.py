"""The web UI (`gitevals ui`) against real projects in temporary git repositories:
every route through Starlette's TestClient, the CLI's server on a real socket,
and one journey in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from gitevals.cli import cli
from gitevals.engine import plan_eval, run_eval
from gitevals.formats import RunManifest
from gitevals.project import find_project
from gitevals.runs import list_runs
from gitevals.ui import bind, create_app, make_server
from tests.conftest import ProjectDir, git

ORIGIN = "http://testserver"
XSS = "<script>alert(1)</script>"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextmanager
def chromium_page(**options: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page of headless Debian Chromium, closed afterwards, and the list that
    collects its script errors and console errors (a test ends asserting it is empty)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(**options)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            yield page, errors
        finally:
            browser.close()


# An agent whose answers depend on mode.txt, so that runs at two commits differ;
# it records a tool call (a trajectory) and can answer with markup.
AGENT = '''
import pathlib

import anyio

from gitevals import trace


@trace.tool
def lookup_policy(topic):
    return {"topic": topic, "days": 30}


def answer(question):
    mode = pathlib.Path(__file__).with_name("mode.txt").read_text().strip()
    if "refund" in question.lower():
        lookup_policy("refund")
        return "Refunds within 30 days." if mode == "good" else "Refunds within 14 days."
    if "hours" in question.lower():
        return "We are open 9 to 5."
    if "markup" in question.lower():
        return "<script>alert(1)</script> is not an answer"
    return "I don't know."


async def slow(question):
    await anyio.sleep(30)
    return question
'''


def project_with_runs(project: ProjectDir, runs: int = 1) -> ProjectDir:
    """The support dataset (with a hand-written comment), an eval of `agent:answer`,
    committed, and `runs` runs made at successive commits (the last one worse)."""
    from tests.conftest import SUPPORT_DATASET

    project.write("agent.py", AGENT)
    project.write("mode.txt", "good\n")
    project.write("datasets/support.yaml", SUPPORT_DATASET + "  - id: markup\n    input: Show me markup\n"
                  "    expected: not an answer\n    context: {tags: [general]}\n")
    project.write("evals/support.yaml", """
        description: Support answers
        dataset: support
        target: agent:answer
        scorers: [{type: contains, name: has-answer}]
        thresholds: {has-answer: 0.2}
        """)
    project.write(".gitignore", "runs/\n__pycache__/\n")
    project.git_init()
    project.commit("initial")
    for index in range(runs):
        if index == runs - 1 and runs > 1:
            project.write("mode.txt", "bad\n")
            project.commit("worse answers")
        run(project)
    return project


def run_ids(project: ProjectDir, name: str = "support") -> list[str]:
    """The eval's runs, oldest first."""
    return [info.id for info in list_runs(project.root / "runs", name)]


def run(project: ProjectDir, name: str = "support") -> RunManifest:
    root = find_project(project.root)
    return run_eval(root, plan_eval(root, name)).manifest


@pytest.fixture
def client_for() -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(project: ProjectDir) -> TestClient:
        client = TestClient(create_app(find_project(project.root)))
        client.__enter__()  # runs the lifespan: the task group that live runs use
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def post(client: TestClient, url: str, data: dict[str, str], **headers: str) -> httpx.Response:
    return client.post(url, data=data, headers={"Origin": ORIGIN, **headers}, follow_redirects=False)


def rows(html: str, attribute: str) -> list[str]:
    return re.findall(rf'<tr {attribute}="([^"]+)"', html)


# --- datasets ---------------------------------------------------------------------


def test_datasets_page_lists_items_tags_and_last_change(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=0)
    project.write("datasets/broken.yaml", "items:\n  - {input: no id here}\n")
    sha = git(project.root, "rev-parse", "HEAD")
    page = client_for(project).get("/datasets")
    assert page.status_code == 200
    assert rows(page.text, "data-dataset") == ["broken", "support"]
    support = page.text[page.text.index('data-dataset="support"'):]
    assert '<td class="num">4</td>' in support
    assert f"<code>{sha[:8]}</code>" in support and "Test Author" in support and "initial" in support
    assert ">billing</a>" in support and ">general</a>" in support
    broken = page.text[page.text.index('data-dataset="broken"'):page.text.index('data-dataset="support"')]
    assert "item #1 has no id" in broken and "never committed" in broken and "uncommitted changes" in broken
    assert "none yet" in support  # no runs
    run(project)
    run(project)
    newest = run_ids(project)[-1]
    support = client_for(project).get("/datasets").text.split('data-dataset="support"')[1]
    assert "2 runs · latest" in support and f'href="/runs/{newest}">support</a>' in support
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    client = client_for(project)
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 307 and home.headers["location"] == "/datasets"
    style, script = client.get("/static/ui.css"), client.get("/static/ui.js")
    assert style.headers["content-type"].startswith("text/css") and "--pass" in style.text
    assert "EventSource" in script.text and ".innerHTML" not in script.text  # text only, never markup


def test_dataset_page_searches_filters_by_tag_and_pages(project: ProjectDir, client_for: Any) -> None:
    items = "".join(f"  - id: q{n:03d}\n    input: question {n}\n    expected: answer {n}\n"
                    f"    context: {{tags: [{'even' if n % 2 == 0 else 'odd'}]}}\n" for n in range(120))
    project.write("datasets/big.yaml", "items:\n" + items)
    client = client_for(project)
    first = client.get("/datasets/big")
    assert rows(first.text, "data-item")[:2] == ["q000", "q001"] and len(rows(first.text, "data-item")) == 50
    assert "1–50 of 120 (page 1 of 3)" in first.text and 'rel="next" href="?page=2"' in first.text
    last = client.get("/datasets/big", params={"page": 3})
    assert rows(last.text, "data-item") == [f"q{n:03d}" for n in range(100, 120)]
    odd = client.get("/datasets/big", params={"tag": "odd", "page": 2})
    assert rows(odd.text, "data-item") == [f"q{n:03d}" for n in range(101, 120, 2)]
    assert "51–60 of 60" in odd.text and 'href="?tag=odd&amp;page=1"' in odd.text
    assert rows(client.get("/datasets/big", params={"q": "ANSWER 77"}).text, "data-item") == ["q077"]
    # every word must be found, in the id, the input or the expected value
    found = client.get("/datasets/big", params={"q": "question 10", "tag": "even"})
    assert rows(found.text, "data-item") == ["q010", "q100", "q102", "q104", "q106", "q108", "q110"]


def test_item_page_shows_every_part_of_the_item(project: ProjectDir, client_for: Any) -> None:
    project.write("datasets/agentic.yaml", """
        items:
          - id: late-order
            input: {question: "Where is my order", order: A1001}
            expected: delayed
            context: {tags: [orders], channel: chat}
            expected_trajectory:
              steps: [{type: tool_call, name: lookup_order, args: {order_id: A1001}}]
              ordering: strict
              max_steps: 3
            tool_mocks: {lookup_order: {status: delayed}}
        """)
    page = client_for(project).get("/datasets/agentic/items/late-order")
    assert page.status_code == 200
    text = page.text
    assert '&#34;order&#34;: &#34;A1001&#34;' in text and "delayed" in text and "&#34;channel&#34;: &#34;chat&#34;" in text
    trajectory = text[text.index('id="expected-trajectory"'):]
    assert "<strong>lookup_order</strong>" in trajectory and "order_id" in trajectory
    assert "<dt>ordering</dt><dd>strict</dd>" in trajectory and "<dt>max_steps</dt><dd>3</dd>" in trajectory
    assert "tool mocks" in text and 'action="/datasets/agentic/items/late-order/remove"' in text
    missing = client_for(project).get("/datasets/agentic/items/nope")
    assert missing.status_code == 404 and "no item &#39;nope&#39; in dataset &#39;agentic&#39;" in missing.text


def test_adding_and_removing_items_keeps_hand_written_comments(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=0)
    path = project.root / "datasets/support.yaml"
    client = client_for(project)
    added = post(client, "/datasets/support/items", {"input": "Do you ship to Norway?", "expected": "yes",
                                                      "tags": "shipping, intl", "id": "", "context": '{"priority": 2}'})
    assert added.status_code == 303
    assert added.headers["location"] == "/datasets/support/items/do-you-ship-to-norway?added=1"
    text = path.read_text()
    assert text.startswith("# Hand-written support questions\n")
    assert '- id: do-you-ship-to-norway\n    input: Do you ship to Norway?\n    expected: "yes"' in text
    assert "context: {priority: 2, tags: [shipping, intl]}" in text
    shown = client.get(added.headers["location"])
    assert "Added do-you-ship-to-norway" in shown.text and "shipping" in shown.text
    removed = post(client, "/datasets/support/items/refund-window/remove", {})
    assert removed.status_code == 303 and removed.headers["location"] == "/datasets/support?removed=refund-window"
    text = path.read_text()
    assert text.startswith("# Hand-written support questions\n") and "id: refund-window" not in text
    assert "retired_ids: [refund-window]" in text
    listing = client.get(removed.headers["location"])
    assert "Removed refund-window" in listing.text and "refund-window" not in rows(listing.text, "data-item")
    assert git(project.root, "log", "--format=%s") == "initial"  # nothing committed without the checkbox


def test_commit_this_change_commits_the_dataset_file_alone(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=0)
    (project.root / "mode.txt").write_text("something else\n")  # an unrelated change stays uncommitted
    client = client_for(project)
    added = post(client, "/datasets/support/items", {"input": "Is there a warranty?", "id": "warranty",
                                                      "commit": "on"})
    sha = git(project.root, "rev-parse", "HEAD")
    assert added.headers["location"] == f"/datasets/support/items/warranty?added=1&committed={sha[:8]}"
    assert git(project.root, "log", "-1", "--format=%s") == "dataset support: +1 (warranty)"
    assert git(project.root, "status", "--porcelain") == "M mode.txt"
    assert "committed " + sha[:8] in client.get(added.headers["location"]).text
    # a file with uncommitted changes is not committed: that would mix them into the version
    path = project.root / "datasets/support.yaml"
    path.write_text(path.read_text() + "# a note\n")
    refused = post(client, "/datasets/support/items/warranty/remove", {"commit": "on"})
    assert refused.status_code == 400 and "has uncommitted changes" in refused.text
    assert "id: warranty" in path.read_text()


def test_a_bad_new_item_is_shown_with_the_form_kept(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=0)
    before = (project.root / "datasets/support.yaml").read_text()
    client = client_for(project)
    bad_context = post(client, "/datasets/support/items", {"input": "Keep this text", "context": "[1, 2]"})
    assert bad_context.status_code == 400 and "context must be a JSON object" in bad_context.text
    assert ">Keep this text</textarea>" in bad_context.text
    taken = post(client, "/datasets/support/items", {"input": "again", "id": "opening-hours"})
    assert taken.status_code == 400 and "id &#39;opening-hours&#39; is already used" in taken.text
    empty = post(client, "/datasets/support/items", {"input": "  "})
    assert empty.status_code == 400 and "give the item&#39;s input" in empty.text
    assert (project.root / "datasets/support.yaml").read_text() == before


def test_changes_from_other_origins_are_refused(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=0)
    path = project.root / "datasets/support.yaml"
    before = path.read_text()
    client = client_for(project)
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "http://testserver:8080"},
                    {"Origin": "null"}, {"Referer": "http://evil.example/datasets/support"}):
        refused = client.post("/datasets/support/items/refund-window/remove", data={}, headers=headers,
                              follow_redirects=False)
        assert refused.status_code == 403, headers
    no_origin = client.post("/evals/support/runs", data={}, follow_redirects=False)
    assert no_origin.status_code == 403 and "must come from a page of this server" in no_origin.text
    assert path.read_text() == before and not (project.root / "runs").exists()
    by_referer = client.post("/datasets/support/items/refund-window/remove", data={},
                             headers={"Referer": f"{ORIGIN}/datasets/support/items/refund-window"},
                             follow_redirects=False)
    assert by_referer.status_code == 303 and "id: refund-window" not in path.read_text()
    # a page whose DNS name was rebound to this server cannot even read it
    rebound = client.get("/datasets", headers={"Host": "evil.example"})
    assert rebound.status_code == 400


# --- evals and runs ---------------------------------------------------------------


def test_evals_page_shows_the_latest_runs_scores(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=2)
    project.write("evals/broken.yaml", "dataset: support\n")
    latest = run_ids(project)[-1]
    page = client_for(project).get("/evals")
    assert rows(page.text, "data-eval") == ["broken", "support"]
    support = page.text[page.text.index('data-eval="support"'):]
    assert f'href="/runs/{latest}"' in support and "completed" in support
    # the worse run: 2 of 4 answers contain the expected text
    assert '<div data-scorer="has-answer">has-answer <strong>0.500</strong>' in support
    # the gates worded as the CLI words them: pass, or FAIL with the gates that failed
    assert '<span class="badge pass" title="1 gate passed">pass</span>' in support
    assert '<td class="num">2</td>' in support
    broken = page.text[page.text.index('data-eval="broken"'):page.text.index('data-eval="support"')]
    assert "target" in broken and "no runs yet" in broken


def test_eval_page_charts_each_scorers_mean_in_commit_order(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=2)
    first, second = run_ids(project)
    page = client_for(project).get("/evals/support")
    assert page.status_code == 200
    chart = page.text[page.text.index('<figure class="trend" data-scorer="has-answer">'):]
    points = re.findall(r'data-run="([^"]+)" data-mean="([^"]+)" cx="([^"]+)" cy="([^"]+)"', chart)
    assert [(run_id, float(mean)) for run_id, mean, _, _ in points] == [(first, 0.75), (second, 0.5)]
    assert float(points[0][2]) < float(points[1][2]) and float(points[0][3]) < float(points[1][3])
    assert '<polyline class="line"' in chart
    assert rows(page.text, "data-run") == [second, first]  # the table: newest first
    assert f'href="/compare?a={first}&amp;b={second}"' in page.text
    assert 'action="/evals/support/runs"' in page.text


def test_run_page_filters_sorts_and_pages_items(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=1)
    client = client_for(project)
    run_id = next((project.root / "runs/support").iterdir()).name
    page = client.get(f"/runs/{run_id}")
    assert page.status_code == 200
    assert '<tr data-scorer="has-answer"><td>has-answer</td><td class="num">0.750</td>' in page.text
    assert "pass</span> has-answer · mean 0.75, needs &gt;= 0.20</li>" in page.text
    assert rows(page.text, "data-item") == ["markup", "opening-hours", "refund-window", "unknown-topic"]
    failing = client.get(f"/runs/{run_id}", params={"status": "failing"})
    assert rows(failing.text, "data-item") == ["unknown-topic"]
    billing = client.get(f"/runs/{run_id}", params={"tag": "billing"})
    assert rows(billing.text, "data-item") == ["refund-window", "unknown-topic"]
    worst = client.get(f"/runs/{run_id}", params={"sort": "has-answer"})
    assert rows(worst.text, "data-item")[0] == "unknown-topic"
    best = client.get(f"/runs/{run_id}", params={"sort": "has-answer", "order": "desc"})
    assert rows(best.text, "data-item")[-1] == "unknown-topic"
    searched = client.get(f"/runs/{run_id}", params={"q": "open 9"})
    assert rows(searched.text, "data-item") == ["opening-hours"]
    by_prefix = client.get(f"/runs/{run_id[:12]}")
    assert by_prefix.status_code == 200 and f"<h1>{run_id}" in by_prefix.text
    missing = client.get("/runs/nope")
    assert missing.status_code == 404 and "no run &#39;nope&#39;" in missing.text


def test_result_page_shows_output_beside_expected_with_diff_trajectory_and_reasons(
        project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=2)  # the last run answers 14 days
    run_id = run_ids(project)[-1]
    page = client_for(project).get(f"/runs/{run_id}/items/refund-window")
    assert page.status_code == 200
    text = page.text
    expected = text[text.index('<section id="expected">'):text.index('<section id="output">')]
    output = text[text.index('<section id="output">'):text.index('<section id="diff">')]
    assert "30 days" in expected and "Refunds within 14 days." in output
    diff = text[text.index('<section id="diff">'):text.index('<section id="scores">')]
    assert "<del>30</del><ins>Refunds within 14</ins>" in diff.replace("\n", "")
    scores = text[text.index('<section id="scores">'):text.index('<section id="trajectory">')]
    assert '<span class="fail">fail</span>' in scores and "missing &#39;30 days&#39;" in scores
    trajectory = text[text.index('<section id="trajectory">'):]
    assert "<strong>lookup_policy</strong>" in trajectory and "&#34;days&#34;: 30" in trajectory
    assert client_for(project).get(f"/runs/{run_id}/items/nope").status_code == 404


def test_pages_say_what_they_show_with_units_gates_and_neighbours(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=2)
    first, second = run_ids(project)
    client = client_for(project)
    # the eval's gate worded as the CLI words it, and drawn on its scorer's chart
    page = client.get("/evals/support").text
    assert ('<dd id="gates"><div>has-answer <span class="muted">·</span> mean &gt;= 0.20</div>'
            '<div>target and each scorer <span class="muted">·</span> errors &lt;= 0</div></dd>') in page
    chart = page[page.index('<figure class="trend" data-scorer="has-answer">'):page.index("</figure>")]
    assert '<line class="threshold"' in chart and "latest 0.500 · gate &gt;= 0.20" in chart
    assert "runs, oldest → newest (commit)" in chart
    # an eval without thresholds says the rule its runs are gated by
    project.write("evals/loose.yaml", "dataset: support\ntarget: support_agent:answer\nscorers: [exact_match]\n")
    loose = client.get("/evals/loose").text
    assert ('<dd id="gates"><div>all items <span class="muted">·</span> '
            "no thresholds set, so every item must pass</div></dd>") in loose
    # the last label ends at the chart's right edge rather than running past it
    assert re.search(r'text-anchor="end">[0-9a-f]{8}</text>', chart)
    # a run: times to the second in UTC, the duration with its unit, counts with their plurals
    run_page = client.get(f"/runs/{second}").text
    assert re.search(r"<dt>started</dt><dd><time datetime=\"[^\"]+\">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</time>",
                     run_page)
    assert re.search(r'id="totals">4 items: 4 completed, 0 target errors, \d+\.\d\d s', run_page)
    failing = client.get(f"/runs/{second}", params={"status": "failing"}).text
    assert re.search(r"\d of 4 results match", failing)
    # a result links to its neighbours in the run page's order
    result = client.get(f"/runs/{second}/items/opening-hours").text
    assert f'rel="prev" href="/runs/{second}/items/markup?trial=0"' in result
    assert f'rel="next" href="/runs/{second}/items/refund-window?trial=0"' in result
    assert "result 2 of 4 in the run" in result
    # an item names the evals that run its dataset, and its latest result there
    item = client.get("/datasets/support/items/refund-window").text
    assert (f'<a href="/runs/{second}/items/refund-window?trial=0">support</a> '
            '<span class="failed">failed</span>') in item
    assert '<a href="/evals/support">support</a>' in client.get("/datasets/support").text


def test_a_failed_gate_is_named_where_the_evals_are_listed(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=1)
    project.write("evals/strict.yaml", "dataset: support\ntarget: agent:answer\n"
                  "scorers: [{type: contains, name: has-answer}]\nthresholds: {has-answer: 0.9}\n")
    run(project, "strict")
    page = client_for(project).get("/evals").text
    strict = page[page.index('data-eval="strict"'):page.index('data-eval="support"')]
    assert ('<span class="badge fail">FAIL</span>'
            '<div class="fail">has-answer · mean 0.75, needs &gt;= 0.90</div>') in strict


def test_unknown_pages_and_bad_input_get_the_error_page(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=2)
    first, second = run_ids(project)
    client = client_for(project)
    for url in ("/no/such/page", "/static/nope.css", "/runs/nope", "/datasets/nope"):
        page = client.get(url)
        assert page.status_code == 404, url
        assert "<h1>Not found" in page.text and '<nav class="top">' in page.text, url
    assert "no page at /no/such/page" in client.get("/no/such/page").text
    # a bad number names its field
    bad = client.get("/compare", params={"a": first, "b": second, "tolerance": "abc"})
    assert bad.status_code == 400 and "tolerance: not a number: &#39;abc&#39;" in bad.text
    # a method a page does not take: 405 on the error page, with Allow
    wrong = client.put("/evals", headers={"Origin": ORIGIN})
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"] and '<nav class="top">' in wrong.text


def test_model_output_is_escaped_everywhere(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=2)
    first, second = run_ids(project)
    client = client_for(project)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    post(client, "/datasets/support/items", {"input": XSS, "id": "xss", "expected": XSS})
    for url in (f"/runs/{second}", f"/runs/{second}/items/markup", "/datasets/support",
                "/datasets/support/items/xss", f"/compare?a={first}&b={second}"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert XSS not in page.text and "alert(1)</script>" not in page.text, url
    assert escaped in client.get(f"/runs/{second}/items/markup").text
    assert escaped in client.get("/datasets/support/items/xss").text


# --- live runs --------------------------------------------------------------------


def events(client: TestClient, run_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every event of a run's stream, which ends when the run does."""
    found = []
    with client.stream("GET", f"/runs/{run_id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                found.append((name, json.loads(line.removeprefix("data: "))))
    return found


def test_a_run_started_from_the_browser_streams_its_items_live(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=0)
    client = client_for(project)
    started = post(client, "/evals/support/runs", {"concurrency": "2", "trials": "2", "tags": "billing"})
    assert started.status_code == 303
    run_id = started.headers["location"].removeprefix("/runs/")
    stream = events(client, run_id)
    names = [name for name, _ in stream]
    assert names == ["start"] + ["item"] * 4 + ["end"]
    items = [data for name, data in stream if name == "item"]
    assert sorted((d["item_id"], d["trial"], d["status"]) for d in items) == [
        ("refund-window", 0, "passed"), ("refund-window", 1, "passed"),
        ("unknown-topic", 0, "failed"), ("unknown-topic", 1, "failed")]
    assert [d["done"] for d in items] == [1, 2, 3, 4] and all(d["total"] == 4 for d in items)
    end = stream[-1][1]
    assert end["status"] == "completed" and end["done"] == 4 and end["passed"] == 2 and end["failed"] == 2
    assert end["gates_passed"] is True
    manifest = RunManifest.model_validate_json((project.root / "runs/support" / run_id / "run.json").read_text())
    assert manifest.status == "completed" and manifest.tags == ["billing"]
    assert manifest.config["concurrency"] == 2 and manifest.config["trials"] == 2
    page = client.get(f"/runs/{run_id}")
    assert 'id="live"' in page.text and '<strong id="live-status">completed</strong>' in page.text
    again = events(client, run_id)  # a late listener gets the whole story
    assert [name for name, _ in again] == names


def test_starting_a_run_reports_config_problems_on_the_eval_page(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=0)
    client = client_for(project)
    typo = post(client, "/evals/support/runs", {"tags": "biling", "concurrency": "3"})
    assert typo.status_code == 400 and "did you mean &#39;billing&#39;" in typo.text
    assert 'name="concurrency" value="3"' in typo.text
    zero = post(client, "/evals/support/runs", {"trials": "0"})
    assert zero.status_code == 400 and "trials must be a whole number of at least 1" in zero.text
    assert post(client, "/evals/nope/runs", {}).status_code == 404
    assert not (project.root / "runs").exists()


def test_cancelling_a_run_marks_it_interrupted(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=0)
    project.write("evals/slow.yaml", "dataset: support\ntarget: agent:slow\nscorers: [contains]\nconcurrency: 1\n")
    client = client_for(project)
    started = post(client, "/evals/slow/runs", {})
    run_id = started.headers["location"].removeprefix("/runs/")
    assert "Cancel the run" in client.get(f"/runs/{run_id}").text
    began = time.monotonic()
    cancelled = post(client, f"/runs/{run_id}/cancel", {})
    assert cancelled.status_code == 303 and time.monotonic() - began < 5
    manifest = RunManifest.model_validate_json((project.root / "runs/slow" / run_id / "run.json").read_text())
    assert manifest.status == "interrupted" and manifest.error == "interrupted"
    assert events(client, run_id)[-1] == ("end", {"status": "interrupted", "done": 0, "total": 4,
                                                  "error": "cancelled", "gates_passed": None, "passed": 0,
                                                  "failed": 0, "errored": 0, "needs_review": 0})
    assert post(client, f"/runs/{run_id}/cancel", {}).status_code == 303  # twice is harmless
    assert post(client, "/runs/nope/cancel", {}).status_code == 404


def test_events_of_a_run_made_elsewhere_end_at_once(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=1)
    run_id = next((project.root / "runs/support").iterdir()).name
    [(name, data)] = events(client_for(project), run_id)
    assert name == "end" and data["status"] == "completed" and data["live"] is False
    assert (data["done"], data["passed"], data["failed"]) == (4, 3, 1)


# --- compare ----------------------------------------------------------------------


def test_compare_page_shows_warnings_statistics_and_regressed_items(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=2)
    first, second = run_ids(project)
    client = client_for(project)
    form = client.get("/compare")
    assert form.status_code == 200 and 'id="comparison"' not in form.text and first in form.text
    page = client.get("/compare", params={"a": first, "b": second})
    assert page.status_code == 200
    text = page.text
    assert 'id="headline"' in text and "No significant regression; inconclusive for has-answer" in text
    assert '<tr data-scorer="has-answer"><td>has-answer</td><td class="num">4</td><td class="num">0.750</td>' \
           '<td class="num">0.500</td><td class="num">-0.250</td>' in text
    article = text[text.index('<article class="delta" data-item="refund-window"'):]
    assert "Refunds within 30 days." in article[:article.index('class="value output-b"')]
    assert "Refunds within 14 days." in article[article.index('class="value output-b"'):]
    assert "1 regressed item, worst first" in text
    via_ref = client.get("/compare", params={"b": second, "baseline": "HEAD~1"})
    assert via_ref.status_code == 200 and f'<a href="/runs/{first}">{first}</a>' in via_ref.text
    # the same warnings as `gitevals compare`: here, a run made with uncommitted changes
    (project.root / "evals/support.yaml").write_text((project.root / "evals/support.yaml").read_text() + "\n")
    third = run(project).id
    warned = client.get("/compare", params={"a": second, "b": third})
    assert "was made with uncommitted changes to evals/support.yaml" in warned.text
    nothing_newer = client.get("/compare", params={"a": third})
    assert nothing_newer.status_code == 400 and "nothing newer to compare with" in nothing_newer.text
    unknown = client.get("/compare", params={"a": "nope", "b": third})
    assert unknown.status_code == 404 and "no run &#39;nope&#39;" in unknown.text
    assert client.get("/compare", params={"b": third, "go": "1"}).status_code == 400


# --- the command and the server ---------------------------------------------------


def test_gitevals_ui_serves_on_loopback_only(project: ProjectDir) -> None:
    project_with_runs(project, runs=0)
    exe = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"
    with subprocess.Popen([exe, "-C", str(project.root), "ui", "--port", "0"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as server:
        try:
            line = server.stdout.readline() if server.stdout else ""
            match = re.search(r"at (http://127\.0\.0\.1:(\d+)/)", line)
            assert match, line
            url = match.group(1)
            page = _get_when_up(url + "datasets")
            assert page.status_code == 200 and 'data-dataset="support"' in page.text
        finally:
            server.terminate()
            server.wait(10)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        result = CliRunner().invoke(cli, ["-C", str(project.root), "ui", "--port", str(busy.getsockname()[1])])
    finally:
        busy.close()
    assert result.exit_code == 2 and "cannot listen on 127.0.0.1" in result.output


def _get_when_up(url: str) -> httpx.Response:
    deadline = time.monotonic() + 10
    while True:
        try:
            return httpx.get(url)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def serving(project: ProjectDir) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 (a free port) in a thread, stopped at the end."""
    sock = bind(0)
    server = make_server(create_app(find_project(project.root)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def live_server(project: ProjectDir) -> Iterator[str]:
    project_with_runs(project, runs=0)
    with serving(project) as url:
        yield url


def test_stopping_the_server_interrupts_the_runs_it_started(project: ProjectDir) -> None:
    project_with_runs(project, runs=0)
    project.write("evals/slow.yaml", "dataset: support\ntarget: agent:slow\nscorers: [contains]\n")
    with serving(project) as url:
        started = httpx.post(url + "/evals/slow/runs", data={"concurrency": "4"}, headers={"Origin": url})
        assert started.status_code == 303
        folder = project.root / "runs/slow" / started.headers["location"].removeprefix("/runs/")
        assert RunManifest.model_validate_json((folder / "run.json").read_text()).status == "running"
        began = time.monotonic()
    assert time.monotonic() - began < 5
    manifest = RunManifest.model_validate_json((folder / "run.json").read_text())
    assert manifest.status == "interrupted" and manifest.finished_at is not None


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                    "(apt-get install chromium; .ci/run installs it)")
def test_in_a_real_browser_add_an_item_run_and_follow_it(project: ProjectDir, live_server: str) -> None:
    from playwright.sync_api import expect

    with chromium_page() as (page, errors):
        page.goto(live_server + "/datasets")
        page.get_by_role("link", name="support", exact=True).click()
        expect(page.locator("h1")).to_have_text("support")
        page.locator("textarea[name=input]").fill("How long is the refund window?")
        page.locator("textarea[name=expected]").fill("30 days")
        page.locator("input[name=tags]").fill("billing")
        page.get_by_role("button", name="Add item").click()
        expect(page.locator("#notice")).to_contain_text("Added how-long-is-the-refund-window")
        page.goto(live_server + "/datasets/support/items/markup")
        page.once("dialog", lambda dialog: dialog.accept())  # "Remove markup from support?"
        page.get_by_role("button", name="Remove markup").click()
        expect(page.locator("#notice")).to_contain_text("Removed markup")
        expect(page.locator("#items tr[data-item]")).to_have_count(4)
        page.goto(live_server + "/evals/support")
        page.locator("input[name=concurrency]").fill("2")
        page.get_by_role("button", name="Run support").click()
        expect(page.locator("#live")).to_have_attribute("data-state", "finished", timeout=20_000)
        expect(page.locator("#live-status")).to_have_text("completed")
        expect(page.locator("#live-count")).to_have_text("4 / 4")
        expect(page.locator("#live-items li")).to_have_count(4)
        run_url = page.url
        page.get_by_role("link", name="Show the results").click()
        page.wait_for_url(run_url)
        expect(page.locator("#run-status")).to_have_text("completed")
        expect(page.locator("#totals")).to_contain_text("4 items: 4 completed, 0 target errors")
        expect(page.locator('#result-table tr[data-item="how-long-is-the-refund-window"] td.passed')).to_have_count(1)
        assert errors == []


def test_a_failed_call_s_traceback_is_on_its_result_page(project: ProjectDir, client_for: Any) -> None:
    project.write("broken_agent.py", "def answer(question):\n    raise RuntimeError('model said <b>no</b>')\n")
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: hi}\n")
    project.write("evals/broken.yaml", "dataset: d\ntarget: broken_agent:answer\n")
    project.git_init()
    project.commit()
    run(project, "broken")
    [run_id] = run_ids(project, "broken")
    page = client_for(project).get(f"/runs/{run_id}/items/a").text
    shown = page[page.index('id="traceback"'):]
    assert "raise RuntimeError(" in shown and "RuntimeError: model said &lt;b&gt;no&lt;/b&gt;" in shown
