"""Many processes writing one tracked file at once: every write lands, or fails
loudly naming the file; none is lost."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitevals.datasets import load_dataset
from tests.conftest import ProjectDir

from ._faults import EXE, gitevals, make_project


def start(project: ProjectDir, *args: str, stdin: str | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([EXE, *args], cwd=project.root, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={"PATH": "/usr/bin:/bin", "CI": "1",
                                                                    "HOME": str(project.root)})


def finish(processes: list[tuple[subprocess.Popen[str], str | None]]) -> None:
    for process, stdin in processes:
        out, err = process.communicate(stdin, timeout=180)
        assert process.returncode == 0, (process.args, out, err)
        assert "Traceback" not in err


@pytest.mark.parametrize("round_", range(2))  # a race: run it more than once
def test_adds_imports_and_removes_at_once_all_land(project: ProjectDir, round_: int) -> None:
    make_project(project)
    for n in range(3):
        project.write(f"rows{n}.csv", "input,expected\n" + "".join(f"csv{n}-{k},a\n" for k in range(20)))
    processes = [(start(project, "dataset", "add", "d", "--id", f"add{n}", "--input", f"q{n}"), None) for n in range(6)]
    processes += [(start(project, "dataset", "import", "d", f"rows{n}.csv"), None) for n in range(3)]
    processes += [(start(project, "dataset", "remove", "d", f"i{n}"), None) for n in range(3)]
    finish(processes)
    inputs = {item.input for item in load_dataset(project.root / "datasets/d.yaml").items}
    expected = {f"a{n}" for n in range(3, 6)} | {f"q{n}" for n in range(6)} \
        | {f"csv{n}-{k}" for n in range(3) for k in range(20)}
    assert inputs == expected


def test_scoring_passes_and_reviewers_at_once_keep_every_score_and_every_review(project: ProjectDir) -> None:
    make_project(project)
    assert gitevals(project, "run", "e").returncode == 0
    [folder] = (project.root / "runs/e").iterdir()
    scorers = ["contains", "exact_match", "similarity"]
    processes = [(start(project, "score", folder.name, "--scorer", name, "--replace" if name == "exact_match" else
                        "--only-missing"), None) for name in scorers]
    processes += [(start(project, "review", folder.name, "--reviewer", f"r{n}", "--only", "all"), "p\n" * 6)
                  for n in range(3)]
    finish(processes)
    results = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    assert len(results) == 6 and all(set(scorers) <= set(r["scores"]) for r in results)
    reviews = [json.loads(line) for line in (folder / "reviews.jsonl").read_text().splitlines()]
    assert sorted((r["reviewer"], r["item_id"]) for r in reviews) == sorted(
        (f"r{n}", f"i{k}") for n in range(3) for k in range(6))
    manifest = json.loads((folder / "run.json").read_text())
    assert len(manifest["scoring"]) == 3 and set(scorers) <= set(manifest["summary"]["scores"])
    assert manifest["summary"]["scores"]["human"]["n"] == 6  # the summary saw the reviews


def test_runs_at_once_on_a_cold_cache_each_get_their_own_folder_and_a_sound_cache(project: ProjectDir) -> None:
    make_project(project)
    finish([(start(project, "run", "e"), None) for _ in range(6)])
    folders = list((project.root / "runs/e").iterdir())
    assert len(folders) == 6
    assert all(len((f / "results.jsonl").read_text().splitlines()) == 6 for f in folders)
    cached = list(Path(project.root / ".git/gitevals/datasets").glob("*.tsv"))
    assert len(cached) == 1  # one entry, written whole by whichever run came first
    assert gitevals(project, "run", "e").returncode == 0 and gitevals(project, "runs", "check").returncode == 0
