"""A full disk and a folder gitevals may not write, simulated beneath it: every
writer says which file it could not write, exits 2, and loses nothing."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ProjectDir

from ._faults import assert_refused, gitevals, make_project, snapshot

NEW_ITEM = ["dataset", "add", "d", "--id", "new", "--input", "q"]


@pytest.mark.parametrize("fault", ["enospc", "eacces"])
@pytest.mark.parametrize("args", [NEW_ITEM, ["dataset", "remove", "d", "i0"], ["dataset", "import", "d", "rows.csv"]],
                         ids=["add", "remove", "import"])
def test_a_dataset_edit_the_disk_refuses_leaves_the_file_as_it_was(project: ProjectDir, fault: str,
                                                                   args: list[str]) -> None:
    make_project(project)
    project.write("rows.csv", "input,expected\nq1,a1\nq2,a2\n")
    before = snapshot(project.root)
    done = gitevals(project, *args, fault=f"{fault}:d.yaml")
    assert_refused(done, "datasets/d.yaml: cannot be written: ")
    assert ("No space left on device" if fault == "enospc" else "Permission denied") in done.stderr
    assert snapshot(project.root) == before  # no byte changed, no temporary file left behind


def test_a_run_whose_results_cannot_be_written_stops_keeps_what_it_recorded_and_resumes(project: ProjectDir) -> None:
    make_project(project)
    done = gitevals(project, "run", "e", fault="enospc:results.jsonl:3")
    assert_refused(done, "results.jsonl: a result could not be recorded: No space left on device")
    [folder] = (project.root / "runs/e").iterdir()
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["status"] == "failed" and "No space left on device" in manifest["error"]
    kept = [json.loads(line)["item_id"] for line in (folder / "results.jsonl").read_text().splitlines()]
    assert 2 <= len(kept) < 6  # the two before the full disk, and any a second worker finished meanwhile
    resumed = gitevals(project, "run", "e", "--resume", folder.name)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    ids = sorted(json.loads(line)["item_id"] for line in (folder / "results.jsonl").read_text().splitlines())
    assert ids == [f"i{n}" for n in range(6)]


def test_a_run_folder_that_cannot_be_made_is_a_clear_error(project: ProjectDir) -> None:
    make_project(project)
    done = gitevals(project, "run", "e", fault="eacces:run.json")
    assert_refused(done, "run.json: cannot be written: Permission denied")


@pytest.mark.parametrize("written", ["results.jsonl", "run.json", "scores.jsonl"])
def test_a_scoring_pass_the_disk_refuses_keeps_the_run_as_it_was(project: ProjectDir, written: str) -> None:
    make_project(project)
    assert gitevals(project, "run", "e").returncode == 0
    [folder] = (project.root / "runs/e").iterdir()
    before = {name: (folder / name).read_bytes() for name in ("run.json", "results.jsonl")}
    done = gitevals(project, "score", "latest", "--scorer", "contains", fault=f"enospc:{written}")
    assert_refused(done, f"{written}: ")
    assert {name: (folder / name).read_bytes() for name in before} == before
    again = gitevals(project, "score", "latest", "--scorer", "contains", "--replace")  # the disk has room again
    assert again.returncode == 0, again.stdout + again.stderr
    assert all("contains" in json.loads(line)["scores"] for line in (folder / "results.jsonl").read_text().splitlines())


def test_a_review_decision_the_disk_refuses_is_an_error_and_earlier_ones_stay(project: ProjectDir) -> None:
    make_project(project)
    assert gitevals(project, "run", "e").returncode == 0
    first = gitevals(project, "review", "latest", "--only", "all", "--reviewer", "r", stdin="p\nq\n")
    assert first.returncode == 0, first.stdout + first.stderr
    [folder] = (project.root / "runs/e").iterdir()
    kept = (folder / "reviews.jsonl").read_bytes()
    done = gitevals(project, "review", "latest", "--only", "all", "--reviewer", "r", stdin="f\nq\n",
                    fault="enospc:reviews.jsonl")
    assert_refused(done, "reviews.jsonl: the system refused it: No space left on device")
    assert (folder / "reviews.jsonl").read_bytes() == kept


@pytest.mark.parametrize("args", [["report", "latest", "--html", "out/report.html"],
                                  ["run", "e", "--junit", "out/junit.xml"],
                                  ["dataset", "export", "d", "--format", "csv", "-o", "out/d.csv"]],
                         ids=["report", "junit", "export"])
def test_an_output_file_that_cannot_be_written_is_named(project: ProjectDir, args: list[str]) -> None:
    make_project(project)
    (project.root / "out").mkdir()
    assert gitevals(project, "run", "e").returncode == 0
    done = gitevals(project, *args, fault="eacces:out/")
    assert_refused(done, f"{args[-1]}: the system refused it: Permission denied")


def test_a_dataset_cache_that_cannot_be_written_costs_nothing_but_speed(project: ProjectDir) -> None:
    make_project(project)
    done = gitevals(project, "run", "e", fault="enospc:.git/gitevals")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


def test_a_web_ui_edit_the_disk_refuses_is_a_page_that_names_the_file_and_the_ui_goes_on(project: ProjectDir) -> None:
    import os

    import httpx

    from tests.ui.test_ui import _get_when_up
    from tests.ui.test_ui_access import ui_server

    from ._faults import INJECT

    make_project(project)
    before = (project.root / "datasets/d.yaml").read_bytes()
    env = {**os.environ, "PYTHONPATH": str(INJECT), "GITEVALS_FAULT": "enospc:d.yaml"}
    with ui_server(project, env=env) as match:
        base = f"http://127.0.0.1:{match.group(3)}"
        assert _get_when_up(base + "/datasets/d").status_code == 200
        answer = httpx.post(base + "/datasets/d/items", data={"input": "q", "id": "new"},
                            headers={"Origin": base}, follow_redirects=False)
        assert answer.status_code >= 400 and "d.yaml" in answer.text and "No space left on device" in answer.text
        assert "Traceback" not in answer.text
        assert httpx.get(base + "/datasets/d").status_code == 200  # the UI goes on
    assert (project.root / "datasets/d.yaml").read_bytes() == before
