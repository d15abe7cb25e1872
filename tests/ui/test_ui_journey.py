"""One user's journey through the web UI in a real browser (Debian's Chromium,
driven by Playwright): start a run and watch its results arrive, make the agent
worse and run again, open a failing item, compare the two runs, and check that
markup in a model's output is shown as text, never run. A screenshot of every
page is saved under the test's temporary folder.

Creating a dataset, adding an item and importing a CSV with a bad row are the
journey of tests/test_ui_datasets.py; reviewing is in tests/test_ui_review.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ProjectDir
from tests.ui.test_ui import AGENT, CHROMIUM, chromium_page, project_with_runs, run_ids, serving

# Each answer takes 0.3 s, so that with one item at a time the page shows the
# first results well before the run ends.
PACED_AGENT = AGENT.replace("def answer(question):\n", "def answer(question):\n    time.sleep(0.3)\n").replace(
    "import pathlib\n", "import pathlib\nimport time\n")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                    "(apt-get install chromium; make test installs it)")
def test_run_watch_open_a_failing_item_and_compare(project: ProjectDir, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    project_with_runs(project, runs=0)
    project.write("agent.py", PACED_AGENT)
    project.commit("slower agent")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with serving(project) as url, chromium_page(viewport={"width": 1280, "height": 900}) as (page, errors):
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

        def shot(name: str) -> None:
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        def start_run() -> None:
            page.goto(url + "/evals")
            page.locator('a[href="/evals/support"]').first.click()
            page.locator("input[name=concurrency]").fill("1")
            page.get_by_role("button", name="Run support").click()

        start_run()
        shot("1-eval")  # the run has just started: its page shows live progress
        # Streaming, not a page that appears complete: some items are listed
        # while the run is still going (checked in one step in the page).
        page.wait_for_function("""() => document.querySelectorAll('#live-items li').length >= 1
            && document.querySelector('#live').dataset.state === 'running'""", timeout=20_000)
        shot("2-live")
        expect(page.locator("#live")).to_have_attribute("data-state", "finished", timeout=20_000)
        expect(page.locator("#live-count")).to_have_text("4 / 4")
        expect(page.locator("#live-items li")).to_have_count(4)
        page.get_by_role("link", name="Show the results").click()
        expect(page.locator("#run-status")).to_have_text("completed")
        expect(page.locator('#result-table tr[data-item="refund-window"]')).to_have_attribute("data-status", "passed")
        shot("3-run")

        project.write("mode.txt", "bad\n")
        project.commit("worse answers")
        start_run()
        expect(page.locator("#live")).to_have_attribute("data-state", "finished", timeout=20_000)
        page.get_by_role("link", name="Show the results").click()
        failing = page.locator('#result-table tr[data-item="refund-window"]')
        expect(failing).to_have_attribute("data-status", "failed")
        shot("4-second-run")

        failing.get_by_role("link", name="refund-window").click()
        expect(page.locator("#result-status")).to_contain_text("failed")
        expect(page.locator("#output")).to_contain_text("Refunds within 14 days.")
        expect(page.locator("#expected")).to_contain_text("30 days")
        shot("5-failing-item")

        page.goto(page.url.split("/items/")[0] + "/items/markup")
        expect(page.locator("#output")).to_contain_text("<script>alert(1)</script> is not an answer")
        assert page.locator("#output script").count() == 0
        shot("6-markup-item")

        first, second = run_ids(project)
        page.goto(url + "/compare")
        page.locator("#compare-form select[name=a]").select_option(first)
        page.locator("#compare-form select[name=b]").select_option(second)
        page.get_by_role("button", name="Compare").click()
        expect(page.locator('#verdicts tr[data-scorer="has-answer"]')).to_be_visible()
        regressed = page.locator('article.delta[data-item="refund-window"]')
        expect(regressed).to_be_visible()
        expect(regressed.locator(".output-a")).to_contain_text("30 days")
        expect(regressed.locator(".output-b")).to_contain_text("14 days")
        shot("7-compare")
        assert errors == [] and dialogs == []
    names = sorted(p.name for p in shots.iterdir())
    assert names == ["1-eval.png", "2-live.png", "3-run.png", "4-second-run.png", "5-failing-item.png",
                     "6-markup-item.png", "7-compare.png"]
    assert all(p.stat().st_size > 5000 for p in shots.iterdir())
