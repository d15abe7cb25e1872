"""Human review in the web UI (`/runs/RUN/review`) against real runs in temporary
git repositories: the walk, what each decision writes to reviews.jsonl (read
back by the library and by `gitevals runs show` / `review` with the same
meaning), the pages that show reviews, bad input, and one journey in Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from gitevals.cli import cli
from gitevals.formats import ReviewLine, RunManifest
from gitevals.runs import human_score, latest_reviews, read_reviews
from tests.conftest import ProjectDir
from tests.ui.test_ui import CHROMIUM, ORIGIN, XSS, chromium_page, project_with_runs, run, run_ids, serving

REVIEWER = "Rita Reviewer"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
# the support project's results, in the order a walk visits them (by item id)
ITEMS = ["markup", "opening-hours", "refund-window", "unknown-topic"]
FLAKY = '''
def answer(question):
    if "markup" in question.lower():
        raise RuntimeError("model unavailable")
    return question
'''


@pytest.fixture(autouse=True)
def _reviewer(monkeypatch: pytest.MonkeyPatch) -> None:
    """`git config user.name` as the server sees it, without touching any real git config."""
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "user.name")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", REVIEWER)


@pytest.fixture
def one_run(project: ProjectDir) -> tuple[ProjectDir, str]:
    """The support project with one completed run: markup answers with a <script>,
    unknown-topic fails its scorer, the others pass."""
    project_with_runs(project, runs=1)
    return project, run_ids(project)[0]


def folder_of(project: ProjectDir, run_id: str, eval_name: str = "support") -> Path:
    return project.root / "runs" / eval_name / run_id


def reviews_of(project: ProjectDir, run_id: str) -> list[dict[str, Any]]:
    path = folder_of(project, run_id) / "reviews.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def params(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def save(client: TestClient, run_id: str, page: httpx.Response, **fields: str) -> httpx.Response:
    """Submit the review form of `page` (a review page) with `fields` changed, as a browser would."""
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    form["reviewer"] = re.search(r'name="reviewer" value="([^"]*)"', page.text).group(1)  # type: ignore[union-attr]
    form.update(fields)
    return client.post(f"/runs/{run_id}/review", data=form, headers={"Origin": ORIGIN}, follow_redirects=False)


def start(client: TestClient, run_id: str, only: str | None = None) -> httpx.Response:
    """Begin a walk as the run page's link does, landing on its first result."""
    begun = client.get(f"/runs/{run_id}/review", params={"only": only} if only else None, follow_redirects=False)
    assert begun.status_code == 303, begun.text
    return client.get(begun.headers["location"])


def heading(page: httpx.Response) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", page.text, re.S).group(1)  # type: ignore[union-attr]


def section(page: httpx.Response, name: str) -> str:
    text = page.text
    begin = text.index(f'id="{name}"')
    return text[begin:text.index("</section>", begin)]


# --- the walk ---------------------------------------------------------------------


def test_the_run_pages_link_begins_a_walk_at_the_first_unreviewed_result(
        one_run: tuple[ProjectDir, str], client_for: Any) -> None:
    project, run_id = one_run
    client = client_for(project)
    run_page = client.get(f"/runs/{run_id}")
    assert f'<a href="/runs/{run_id}/review">Review results by hand</a>' in run_page.text
    begun = client.get(f"/runs/{run_id[:12]}/review", follow_redirects=False)  # a prefix names the run too
    assert begun.status_code == 303
    assert begun.headers["location"] == f"/runs/{run_id}/review?only=unreviewed&at=0&item=markup&trial=0"
    page = client.get(begun.headers["location"])
    assert page.status_code == 200 and heading(page).startswith("Review markup")
    assert "<strong>1 of 4</strong> in this walk (unreviewed)" in page.text
    assert '"reviewed-count">0 of 4 reviewed<' in page.text and '"remaining-count">4 remaining<' in page.text
    # input, expected and output side by side, the diff and the scores with reasons, as on the result page
    assert "Show me markup" in section(page, "input") and "not an answer" in section(page, "expected")
    assert f"{ESCAPED} is not an answer" in section(page, "output")
    assert f"<ins>{ESCAPED} is </ins>not an answer" in section(page, "diff")
    # which results to visit, with how many each would
    assert "<strong>unreviewed (4)</strong>" in page.text
    assert f'<a href="/runs/{run_id}/review?only=failing">failing (1)</a>' in page.text
    # the reviewer is `git config user.name`, as in `gitevals review`; nothing is written by looking
    assert f'name="reviewer" value="{REVIEWER}"' in page.text and "Not reviewed yet." in page.text
    assert not (folder_of(project, run_id) / "reviews.jsonl").exists()
    failing = start(client, run_id, "failing")
    assert heading(failing).startswith("Review unknown-topic") and "<strong>1 of 1</strong>" in failing.text
    assert "missing &#39;we accept&#39;" in section(failing, "scores")  # the scorer's reason


def test_saving_appends_one_line_per_decision_and_goes_to_the_next(
        one_run: tuple[ProjectDir, str], client_for: Any) -> None:
    project, run_id = one_run
    client = client_for(project)
    page = start(client, run_id)
    saved = save(client, run_id, page, verdict="pass", comment="escaped, as it should be")
    assert saved.status_code == 303
    assert params(saved.headers["location"]) == {"only": "unreviewed", "at": "0", "item": "opening-hours",
                                                 "trial": "0", "reviewer": REVIEWER, "saved": "markup"}
    [line] = reviews_of(project, run_id)
    assert {k: line[k] for k in ("item_id", "trial", "reviewer", "verdict", "score", "comment", "flagged")} == {
        "item_id": "markup", "trial": 0, "reviewer": REVIEWER, "verdict": "pass", "score": None,
        "comment": "escaped, as it should be", "flagged": False}
    second = client.get(saved.headers["location"])
    assert heading(second).startswith("Review opening-hours") and "Saved markup." in second.text
    assert "<strong>2 of 4</strong>" in second.text and '"reviewed-count">1 of 4 reviewed<' in second.text
    # a verdict and a score together, a flag, and another reviewer's name
    third = client.get(save(client, run_id, second, verdict="fail", score="0.25", flagged="on",
                            reviewer="Ann Lee").headers["location"])
    assert heading(third).startswith("Review refund-window")
    assert 'name="reviewer" value="Ann Lee"' in third.text  # the name typed stays for the next result
    recorded = read_reviews(folder_of(project, run_id))  # the library reads what the UI wrote
    assert [(r.item_id, r.verdict, r.score, r.flagged, r.reviewer) for r in recorded] == [
        ("markup", "pass", None, False, REVIEWER), ("opening-hours", "fail", 0.25, True, "Ann Lee")]
    score = human_score(recorded[1])
    assert score is not None and (score["value"], score["passed"], score["details"]) == (
        0.25, False, {"reviewer": "Ann Lee", "flagged": True})
    # the run's summary now has the scorer `human`, as after `gitevals review`
    manifest = RunManifest.model_validate_json((folder_of(project, run_id) / "run.json").read_text())
    assert manifest.summary is not None
    human = manifest.summary.scores["human"]
    assert (human.n, human.mean, human.pass_rate) == (2, pytest.approx(0.625), 0.5)
    assert manifest.summary.scores["has-answer"].mean == 0.75  # the scorer's own results stand


def test_skip_back_and_the_summary_at_the_end(one_run: tuple[ProjectDir, str], client_for: Any) -> None:
    project, run_id = one_run
    client = client_for(project)
    first = start(client, run_id)
    assert 'id="back"' not in first.text  # nothing before the first result
    second = client.get(save(client, run_id, first, verdict="pass").headers["location"])
    skip = re.search(r'id="skip" href="([^"]+)"', second.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    third = client.get(skip)
    assert heading(third).startswith("Review refund-window") and len(reviews_of(project, run_id)) == 1
    # back reaches markup although it is judged now: the walk keeps the results it began with
    back = re.search(r'id="back" href="([^"]+)"', third.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    again = client.get(back)  # opening-hours, skipped
    assert heading(again).startswith("Review opening-hours")
    back = re.search(r'id="back" href="([^"]+)"', again.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    markup = client.get(back)
    assert heading(markup).startswith("Review markup")
    existing = section(markup, "existing-review")
    assert '<span class="pass">pass</span>' in existing and REVIEWER in existing
    assert 'value="pass" checked' in markup.text  # the form shows the latest review, to change it
    # changed to fail: a second line supersedes the first; the walk goes on from there
    after = save(client, run_id, markup, verdict="fail", comment="on second thought")
    assert params(after.headers["location"])["item"] == "opening-hours"
    assert [(x["item_id"], x["verdict"]) for x in reviews_of(project, run_id)] == [
        ("markup", "pass"), ("markup", "fail")]
    latest = latest_reviews(read_reviews(folder_of(project, run_id)))
    assert latest[("markup", 0)].verdict == "fail" and latest[("markup", 0)].comment == "on second thought"
    page = client.get(after.headers["location"])
    for verdict in ("pass", "pass", "fail"):  # opening-hours, refund-window, unknown-topic
        done = save(client, run_id, page, verdict=verdict)
        if verdict == "fail":
            break
        page = client.get(done.headers["location"])
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/runs/{run_id}/review/done?only=unreviewed&at=0")
    summary = client.get(done.headers["location"])
    assert heading(summary) == "Review done"
    assert "This walk visited 4 results (unreviewed); 5 decisions saved." in summary.text
    assert "<dt>reviewed</dt><dd>4 of 4 results with an output</dd>" in summary.text
    assert '<dd id="human-score">mean 0.500, pass rate 50%, n 4</dd>' in summary.text
    assert f'<a href="/runs/{run_id}" id="back-to-run">' in summary.text
    # the run page's summary and table have the scorer `human` now
    run_page = client.get(f"/runs/{run_id}")
    assert '<tr data-scorer="human"><td>human</td><td class="num">0.500</td>' in run_page.text
    # and a new walk of unreviewed results finds none
    nothing = client.get(client.get(f"/runs/{run_id}/review", follow_redirects=False).headers["location"])
    assert heading(nothing) == "Nothing to review" and "No result is left unreviewed" in nothing.text


def test_a_new_walk_continues_after_the_last_review_and_the_cli_reads_it_alike(
        one_run: tuple[ProjectDir, str], client_for: Any) -> None:
    project, run_id = one_run
    client = client_for(project)
    first = start(client, run_id)
    save(client, run_id, first, verdict="fail", comment="a script is not an answer", flagged="on")
    # `gitevals review` continues the same file where the browser stopped: at opening-hours
    cli_review = CliRunner().invoke(cli, ["-C", str(project.root), "review", run_id], input="0.8\nq\n")
    assert cli_review.exit_code == 0, cli_review.output
    assert "[1/3] opening-hours" in cli_review.output
    # and the browser continues after the CLI: at refund-window
    page = start(client, run_id)
    assert heading(page).startswith("Review refund-window") and '"reviewed-count">2 of 4 reviewed<' in page.text
    shown = CliRunner().invoke(cli, ["-C", str(project.root), "runs", "show", run_id])
    assert shown.exit_code == 0, shown.output
    assert "reviewed by hand: 2 of 4 results, 1 flagged" in shown.output
    assert "a script is not an answer" in shown.output  # the failing human verdict, and why
    raw = json.loads(CliRunner().invoke(cli, ["-C", str(project.root), "runs", "show", run_id, "--json"]).output)
    assert [(r["item_id"], r["verdict"], r["score"], r["flagged"]) for r in raw["reviews"]] == [
        ("markup", "fail", None, True), ("opening-hours", None, 0.8, False)]
    for line in reviews_of(project, run_id):
        ReviewLine.model_validate(line)  # one format, whoever wrote it
    flagged = CliRunner().invoke(cli, ["-C", str(project.root), "review", run_id, "--only", "flagged"], input="q\n")
    assert "[1/1] markup" in flagged.output
    assert "reviewed by Rita Reviewer: fail; flagged; comment: a script is not an answer" in flagged.output


def test_the_result_page_shows_the_latest_review_and_links_to_review_it(
        one_run: tuple[ProjectDir, str], client_for: Any) -> None:
    project, run_id = one_run
    client = client_for(project)
    before = client.get(f"/runs/{run_id}/items/refund-window")
    assert "Not reviewed yet." in section(before, "review")
    link = f'/runs/{run_id}/review?only=all&amp;item=refund-window&amp;trial=0'
    assert f'id="review-link" href="{link}">Review this result<' in before.text
    opened = client.get(link.replace("&amp;", "&"), follow_redirects=False)
    assert opened.status_code == 303
    assert params(opened.headers["location"]) == {"only": "all", "at": "0", "item": "refund-window", "trial": "0"}
    page = client.get(opened.headers["location"])
    assert heading(page).startswith("Review refund-window") and "<strong>3 of 4</strong> in this walk (all)" in page.text
    saved = save(client, run_id, page, score="0.9", comment="right, a bit long", reviewer="Ann Lee")
    assert params(saved.headers["location"])["item"] == "unknown-topic"  # all: the next by id
    after = client.get(f"/runs/{run_id}/items/refund-window")
    review = section(after, "review")
    assert "<dt>score</dt><dd>0.9</dd>" in review and "right, a bit long" in review
    assert '<dt>verdict</dt><dd><span class="muted">none</span></dd>' in review
    assert "<dt>by</dt><dd>Ann Lee, <time datetime=" in review and ">Review it again<" in review
    assert '<tr data-scorer="human">' in section(after, "scores")
    # a result reached from its page that a walk of unreviewed results would not visit: shown in `all`
    moved = client.get(f"/runs/{run_id}/review", params={"only": "unreviewed", "at": "1", "item": "refund-window",
                                                         "trial": "0"}, follow_redirects=False)
    assert moved.status_code == 303 and params(moved.headers["location"])["only"] == "all"


def test_a_result_whose_target_failed_has_nothing_to_judge(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=0)
    project.write("flaky.py", FLAKY)
    project.write("evals/flaky.yaml", "dataset: support\ntarget: flaky:answer\nscorers: [contains]\n")
    run_id = run(project, "flaky").id
    client = client_for(project)
    page = start(client, run_id)
    assert heading(page).startswith("Review opening-hours") and "<strong>1 of 3</strong>" in page.text
    result = client.get(f"/runs/{run_id}/items/markup")
    assert "there is no output to judge" in section(result, "review") and 'id="review-link"' not in result.text
    shown = client.get(f"/runs/{run_id}/review", params={"item": "markup"})
    assert shown.status_code == 400 and "&#39;markup&#39; has no output to judge: its target failed" in shown.text
    posted = save(client, run_id, page, item="markup", verdict="pass", comment="keep me")
    assert posted.status_code == 400 and "has no output to judge" in posted.text
    assert "keep me" in posted.text and not (project.root / "runs/flaky" / run_id / "reviews.jsonl").exists()


# --- bad input, other origins, escaping --------------------------------------------


def test_bad_input_is_refused_with_the_form_kept(one_run: tuple[ProjectDir, str], client_for: Any) -> None:
    project, run_id = one_run
    client = client_for(project)
    page = start(client, run_id)
    comment = "a long thought\nover two lines"
    cases = [
        ({"score": "1.5"}, "the score must be from 0 to 1, not 1.5"),
        ({"score": "-0.1"}, "the score must be from 0 to 1, not -0.1"),
        ({"score": "nan"}, "the score must be from 0 to 1, not nan"),
        ({"score": "high"}, "the score must be a number from 0 to 1, not &#39;high&#39;"),
        ({"verdict": "maybe"}, "unknown verdict &#39;maybe&#39;: choose pass or fail, or neither"),
    ]
    for fields, message in cases:
        refused = save(client, run_id, page, comment=comment, flagged="on", reviewer="Ann Lee", **fields)
        assert refused.status_code == 400, fields
        assert message in refused.text, fields
        assert "Traceback" not in refused.text
        # the same result's page again, with what was typed
        assert heading(refused).startswith("Review markup"), fields
        assert f">\n{comment}</textarea>" in refused.text and 'name="reviewer" value="Ann Lee"' in refused.text
        assert 'name="flagged" checked' in refused.text
    kept = save(client, run_id, page, score="0.7", verdict="maybe")
    assert 'name="score" type="number" min="0" max="1" step="any" inputmode="decimal" value="0.7"' in kept.text
    empty = save(client, run_id, page)
    assert empty.status_code == 400 and "nothing to save: choose pass or fail" in empty.text
    # a result the run does not have: nothing to show it on, so what was typed is shown as text
    missing = save(client, run_id, page, item="no-such-item", verdict="pass", comment=comment)
    assert missing.status_code == 400 and f"run {run_id} has no result for item &#39;no-such-item&#39;" in missing.text
    assert comment in missing.text and "<dt>verdict</dt><dd>pass</dd>" in missing.text
    other_trial = save(client, run_id, page, trial="3", verdict="pass")
    assert other_trial.status_code == 400 and "(trial 3)" in other_trial.text
    bad_only = save(client, run_id, page, only="everything", verdict="pass", comment="still here")
    assert bad_only.status_code == 400 and "unknown choice of results &#39;everything&#39;" in bad_only.text
    assert "still here" in bad_only.text
    assert not (folder_of(project, run_id) / "reviews.jsonl").exists()  # nothing bad was written
    # the same checks on links
    assert client.get(f"/runs/{run_id}/review", params={"only": "everything"}).status_code == 400
    assert client.get(f"/runs/{run_id}/review", params={"at": "x"}).status_code == 400
    assert client.get(f"/runs/{run_id}/review", params={"item": "nope"}).status_code == 404
    assert client.get("/runs/nope/review").status_code == 404
    unknown_run = client.post("/runs/nope/review", data={"item": "markup", "verdict": "pass", "comment": "mine"},
                              headers={"Origin": ORIGIN})
    assert unknown_run.status_code == 400 and "no run &#39;nope&#39;" in unknown_run.text and "mine" in unknown_run.text


def test_reviews_from_other_origins_are_refused(one_run: tuple[ProjectDir, str], client_for: Any) -> None:
    project, run_id = one_run
    client = client_for(project)
    data = {"only": "unreviewed", "at": "0", "item": "markup", "trial": "0", "verdict": "pass"}
    for headers in ({}, {"Origin": "http://evil.example"}, {"Referer": "http://evil.example/runs"}):
        refused = client.post(f"/runs/{run_id}/review", data=data, headers=headers, follow_redirects=False)
        assert refused.status_code == 403, headers
    assert not (folder_of(project, run_id) / "reviews.jsonl").exists()
    by_referer = client.post(f"/runs/{run_id}/review", data=data, follow_redirects=False,
                             headers={"Referer": f"{ORIGIN}/runs/{run_id}/review"})
    assert by_referer.status_code == 303 and len(reviews_of(project, run_id)) == 1


def test_a_run_folder_outside_runs_is_not_written(one_run: tuple[ProjectDir, str], client_for: Any,
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, run_id = one_run
    client = client_for(project)
    # a run folder that the lookup would take as the path `..` from the server's folder
    outside = tmp_path / "outside"
    shutil.copytree(folder_of(project, run_id), outside)
    (outside / "cwd").mkdir()
    monkeypatch.chdir(outside / "cwd")
    assert client.get("/runs/%2E%2E/review").status_code == 404
    posted = client.post("/runs/%2E%2E/review", data={"item": "markup", "verdict": "pass"},
                         headers={"Origin": ORIGIN})
    assert posted.status_code == 400 and not (outside / "reviews.jsonl").exists()


def test_reviews_are_shown_as_text(one_run: tuple[ProjectDir, str], client_for: Any) -> None:
    project, run_id = one_run
    client = client_for(project)
    page = start(client, run_id)
    assert XSS not in page.text and "alert(1)</script>" not in page.text
    saved = save(client, run_id, page, verdict="fail", comment=XSS, reviewer=XSS)
    assert reviews_of(project, run_id)[0]["comment"] == XSS  # kept exactly, shown escaped
    markup = client.get(f"/runs/{run_id}/review", params={"only": "all", "at": "1", "item": "markup"})
    following = client.get(saved.headers["location"])  # the next result, the reviewer's name carried
    assert f'name="reviewer" value="{ESCAPED}"' in following.text
    for shown in (following, markup, client.get(f"/runs/{run_id}/items/markup"),
                  client.get(f"/runs/{run_id}"),
                  client.get(f"/runs/{run_id}/review/done", params={"only": "all", "reviewer": XSS})):
        assert shown.status_code == 200, shown.url
        assert XSS not in shown.text and "alert(1)</script>" not in shown.text, shown.url
    assert f"<pre class=\"value\">{ESCAPED}</pre>" in section(markup, "existing-review")


def test_a_run_still_being_recorded_can_be_reviewed_as_with_the_cli(
        one_run: tuple[ProjectDir, str], client_for: Any) -> None:
    project, run_id = one_run
    path = folder_of(project, run_id) / "run.json"
    manifest = RunManifest.model_validate_json(path.read_text())
    running = manifest.model_copy(update={"status": "running", "summary": None, "finished_at": None, "gates": []})
    path.write_text(running.model_dump_json(indent=2))
    client = client_for(project)
    page = start(client, run_id)
    assert "This run is still running" in page.text
    assert save(client, run_id, page, verdict="pass").status_code == 303
    assert len(reviews_of(project, run_id)) == 1
    # no summary is written while the run records its own
    assert RunManifest.model_validate_json(path.read_text()) == running


def test_compare_shows_the_human_scorer_after_reviews_in_the_browser(project: ProjectDir, client_for: Any) -> None:
    project_with_runs(project, runs=2)
    first, second = run_ids(project)
    client = client_for(project)
    for run_id, verdicts in ((first, ["pass", "pass", "pass", "fail"]), (second, ["pass", "pass", "fail", "fail"])):
        page = start(client, run_id)
        for verdict in verdicts:
            saved = save(client, run_id, page, verdict=verdict)
            assert saved.status_code == 303
            if "/review/done" not in saved.headers["location"]:
                page = client.get(saved.headers["location"])
        assert "/review/done" in saved.headers["location"]
    compared = client.get("/compare", params={"a": first, "b": second})
    assert compared.status_code == 200
    assert '<tr data-scorer="human"><td>human</td><td class="num">4</td><td class="num">0.750</td>' \
           '<td class="num">0.500</td><td class="num">-0.250</td>' in compared.text
    cli_compare = CliRunner().invoke(cli, ["-C", str(project.root), "compare", first, second, "--format", "json"])
    human = next(s for s in json.loads(cli_compare.output)["scorers"] if s["name"] == "human")
    assert human["regressed"] == 1


# --- in a real browser ------------------------------------------------------------


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                    "(apt-get install chromium; .ci/run installs it)")
def test_in_a_real_browser_review_two_results(one_run: tuple[ProjectDir, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    project, run_id = one_run
    with serving(project) as url, chromium_page() as (page, errors):
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{url}/runs/{run_id}")
        page.get_by_role("link", name="Review results by hand").click()
        expect(page.locator("h1")).to_contain_text("Review markup")
        # the model's <script> is text on the page, not a script that ran
        expect(page.locator("#output pre")).to_have_text("<script>alert(1)</script> is not an answer")
        expect(page.locator("#output script")).to_have_count(0)
        expect(page.locator("#progress")).to_contain_text("0 of 4 reviewed, 4 remaining")
        expect(page.locator("input[name=reviewer]")).to_have_value(REVIEWER)
        expect(page.locator("#review-form")).to_have_attribute("data-keys", "on")  # review.js has run
        page.keyboard.press("p")  # the key for pass
        expect(page.locator("input[name=verdict][value=pass]")).to_be_checked()
        page.locator("textarea[name=comment]").fill("Shows the markup as text")
        page.get_by_role("button", name="Save & next").click()
        expect(page.locator("h1")).to_contain_text("Review opening-hours")
        expect(page.locator("#notice")).to_have_text("Saved markup.")
        expect(page.locator("#progress")).to_contain_text("1 of 4 reviewed, 3 remaining")
        expect(page.locator("#review-form")).to_have_attribute("data-keys", "on")
        page.locator("input[name=verdict][value=fail]").check()
        page.locator("input[name=score]").fill("0.3")
        page.keyboard.press("p")  # typed into a field, a key is not a shortcut: the verdict stays fail
        expect(page.locator("input[name=verdict][value=fail]")).to_be_checked()
        page.locator("h1").click()
        page.keyboard.press("!")  # flag it
        expect(page.locator("input[name=flagged]")).to_be_checked()
        page.keyboard.press("Enter")  # save
        expect(page.locator("h1")).to_contain_text("Review refund-window")
        expect(page.locator("#progress")).to_contain_text("2 of 4 reviewed, 2 remaining")
        page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        page.locator("#back").click()
        expect(page.locator("#existing-review")).to_contain_text("fail")
        expect(page.locator("#existing-review")).to_contain_text(REVIEWER)
        expect(page.locator("input[name=score]")).to_have_value("0.3")
        assert errors == [] and dialogs == []
    assert (tmp_path / "review.png").stat().st_size > 10_000
    assert [(x["item_id"], x["verdict"], x["score"], x["comment"], x["flagged"], x["reviewer"])
            for x in reviews_of(project, run_id)] == [
        ("markup", "pass", None, "Shows the markup as text", False, REVIEWER),
        ("opening-hours", "fail", 0.3, None, True, REVIEWER)]
