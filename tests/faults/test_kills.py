"""kill -9 at the worst moments of import, edit, run, score, merge and review:
what was committed or recorded before is all there, and the next command
carries on (or names what the kill left)."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest

from tests.conftest import ProjectDir

from ._faults import ITEMS, gitevals, make_project, snapshot

KILLED = -signal.SIGKILL


def results_of(folder: Path) -> list[tuple[str, int]]:
    return [(r["item_id"], r["trial"]) for r in map(json.loads, (folder / "results.jsonl").read_text().splitlines())]


def only_run(project: ProjectDir) -> Path:
    [folder] = (project.root / "runs/e").iterdir()
    return folder


@pytest.mark.parametrize("moment", ["1", "2"], ids=["mid-write", "before-rename"])
@pytest.mark.parametrize("args", [["dataset", "add", "d", "--id", "new", "--input", "q"],
                                  ["dataset", "import", "d", "rows.csv"],
                                  ["dataset", "remove", "d", "i0", "i1"]], ids=["add", "import", "remove"])
def test_a_killed_dataset_edit_leaves_the_file_whole_and_the_next_edit_lands(project: ProjectDir, args: list[str],
                                                                             moment: str) -> None:
    make_project(project)
    project.write("rows.csv", "input,expected\n" + "".join(f"q{n},a{n}\n" for n in range(200)))
    done = gitevals(project, *args, fault=f"kill:d.yaml:{moment}")
    assert done.returncode == KILLED, done.stderr
    assert (project.root / "datasets/d.yaml").read_text() == ITEMS  # the old file, whole
    listed = gitevals(project, "dataset", "list")
    assert listed.returncode == 0 and "d " in listed.stdout + " " and ".d.yaml" not in listed.stdout
    again = gitevals(project, *args)  # the dead writer's lock is gone with it
    assert again.returncode == 0, again.stdout + again.stderr
    assert gitevals(project, "dataset", "validate", "d").returncode == 0


@pytest.mark.parametrize("fault", ["kill:results.jsonl:3", "tear:results.jsonl:3"], ids=["between", "mid-line"])
def test_a_killed_run_resumes_every_pair_exactly_once(project: ProjectDir, fault: str) -> None:
    make_project(project)
    done = gitevals(project, "run", "e", "--trials", "2", fault=fault)
    assert done.returncode == KILLED, done.stderr
    folder = only_run(project)
    assert json.loads((folder / "run.json").read_text())["status"] == "running"
    shown = gitevals(project, "runs", "show", "latest")
    assert shown.returncode == 0 and "process gone" in shown.stdout, shown.stdout + shown.stderr
    resumed = gitevals(project, "run", "e", "--resume", "latest")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    pairs = results_of(folder)
    assert sorted(pairs) == sorted((f"i{n}", t) for n in range(6) for t in range(2))  # none twice, none missing
    assert gitevals(project, "runs", "check").returncode == 0


@pytest.mark.parametrize(("fault", "changed"), [("kill:scores.jsonl:3", set()), ("kill:results.jsonl:1", set()),
                                                ("kill:results.jsonl:2", set()), ("kill:run.json:2", {"results.jsonl"})],
                         ids=["mid-pass", "mid-write", "before-the-renames", "between-the-renames"])
def test_a_killed_scoring_pass_keeps_the_run_and_finishes_with_only_missing(project: ProjectDir, fault: str,
                                                                            changed: set[str]) -> None:
    make_project(project)
    assert gitevals(project, "run", "e").returncode == 0
    folder = only_run(project)
    before = {name: (folder / name).read_bytes() for name in ("run.json", "results.jsonl")}
    done = gitevals(project, "score", "latest", "--scorer", "contains", fault=fault)
    assert done.returncode == KILLED, done.stderr
    # both files are written before either is renamed into place; only a kill
    # between the two renames (microseconds apart) finds the results renamed alone
    assert {name for name in before if (folder / name).read_bytes() != before[name]} == changed
    assert (folder / "scores.jsonl").exists()  # the pass's scores, kept until both files are in place
    finished = gitevals(project, "score", "latest", "--scorer", "contains", "--only-missing")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    scored = [json.loads(line)["scores"] for line in (folder / "results.jsonl").read_text().splitlines()]
    assert len(scored) == 6 and all({"exact_match", "contains"} <= set(s) for s in scored)
    assert gitevals(project, "runs", "check").returncode == 0


def test_a_killed_merge_is_named_and_the_merge_can_be_made_again(project: ProjectDir) -> None:
    make_project(project)
    for shard in ("1/2", "2/2"):
        assert gitevals(project, "run", "e", "--shard", shard).returncode == 0
    shards = sorted(p.name for p in (project.root / "runs/e").iterdir())
    kept = snapshot(project.root / "runs")
    done = gitevals(project, "runs", "merge", *shards, fault="kill:run.json:2")
    assert done.returncode == KILLED, done.stderr
    assert {k: v for k, v in snapshot(project.root / "runs").items() if k.split("/")[1] in shards} == kept
    [half] = {p.name for p in (project.root / "runs/e").iterdir()} - set(shards)
    checked = gitevals(project, "runs", "check")
    assert checked.returncode == 1 and f"runs/e/{half}/: results.jsonl without run.json" in checked.stderr
    refused = gitevals(project, "runs", "show", "latest")  # it must not quietly mean a shard
    assert refused.returncode == 2 and half in refused.stderr
    shutil.rmtree(project.root / "runs/e" / half)
    merged = gitevals(project, "runs", "merge", *shards)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "6 items: 6 completed" in gitevals(project, "runs", "show", "latest").stdout


@pytest.mark.parametrize("fault", ["kill:reviews.jsonl:2", "tear:reviews.jsonl:2"], ids=["between", "mid-line"])
def test_a_killed_review_keeps_every_decision_before_it(project: ProjectDir, fault: str) -> None:
    make_project(project)
    assert gitevals(project, "run", "e").returncode == 0
    done = gitevals(project, "review", "latest", "--reviewer", "r", stdin="p\nf\np\n", fault=fault)
    assert done.returncode == KILLED, done.stderr
    folder = only_run(project)
    again = gitevals(project, "review", "latest", "--reviewer", "r", stdin="p\nq\n")
    assert again.returncode == 0, again.stdout + again.stderr
    verdicts = [(r["item_id"], r["verdict"]) for r in map(json.loads, (folder / "reviews.jsonl").read_text().splitlines())]
    assert verdicts == [("i0", "pass"), ("i1", "pass")]  # the first decision, then the next session's
