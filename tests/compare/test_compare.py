"""Comparison of runs made at different commits of real git histories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitevals.compare import compare, paired_t, t_critical, t_two_sided_p
from gitevals.project import find_project
from gitevals.runs import find_baseline, list_runs, load_run
from tests.conftest import ProjectDir, git, invoke

AGENT = '''
import json, pathlib

# The answers come from a file read on every call, so a test can change the
# "model" between runs made in the same process.
def answer(question):
    answers = json.loads((pathlib.Path(__file__).parent / "answers.json").read_text())
    return answers.get(question, "no idea")
'''



def dataset_yaml(items: dict[str, tuple[str, str]]) -> str:
    lines = ["items:"]
    for item_id, (question, expected) in items.items():
        lines += [f"  - id: {item_id}", f"    input: {question}", f"    expected: {expected}"]
    return "\n".join(lines) + "\n"


class History:
    """A project whose dataset and agent answers change from commit to commit."""

    def __init__(self, project: ProjectDir, size: int = 30) -> None:
        self.project = project
        self.items = {f"q{n:02d}": (f"question {n}", f"answer {n}") for n in range(size)}
        self.answers = {question: expected for question, expected in self.items.values()}
        project.write("agent_mod.py", AGENT)
        project.write("evals/qa.yaml", "dataset: qa\ntarget: agent_mod:answer\nscorers: [exact_match]\n")
        self.save()
        project.git_init()

    def save(self) -> None:
        self.project.write("datasets/qa.yaml", dataset_yaml(self.items))
        self.project.write("answers.json", json.dumps(self.answers))

    def commit_and_run(self, message: str, *extra: str) -> str:
        self.save()
        self.project.commit(message)
        result = invoke(self.project, "run", "qa", *extra)
        assert result.exit_code in (0, 1), result.output
        return newest_run(self.project)


def newest_run(project: ProjectDir) -> str:
    return list_runs(project.root / "runs", "qa")[-1].id


def test_same_answers_are_unchanged(project: ProjectDir) -> None:
    history = History(project)
    a = history.commit_and_run("v1")
    b = history.commit_and_run("v1 again")
    root = find_project(project.root)
    result = compare(load_run(root, a), load_run(root, b))
    [scorer] = result.scorers
    assert (scorer.n, scorer.delta, scorer.p_value, scorer.verdict) == (30, 0.0, 1.0, "unchanged")
    assert result.warnings == [] and not result.regressed
    assert result.classes["unchanged"] == sorted(history.items)


def test_large_consistent_drop_is_regressed_and_fails(project: ProjectDir) -> None:
    history = History(project)
    history.commit_and_run("v1")
    for n in range(12):
        history.answers[f"question {n}"] = "wrong"
    history.commit_and_run("worse prompt")
    result = invoke(project, "compare", "--fail-on-regression")
    assert result.exit_code == 1, result.output
    assert "REGRESSION: exact_match -0.400" in result.output
    assert "q00 exact_match 1.00 -> 0.00" in result.output
    assert "B output: wrong" in result.output
    data = json.loads(invoke(project, "compare", "--format", "json").output)
    [scorer] = data["scorers"]
    assert scorer["verdict"] == "regressed" and scorer["regressed"] == 12 and scorer["n"] == 30
    assert scorer["delta"] == pytest.approx(-0.4)
    assert scorer["ci_low"] < -0.4 < scorer["ci_high"] < 0 and scorer["p_value"] < 0.01
    assert [d["item_id"] for d in data["regressions"]][:2] == ["q00", "q01"]


def test_small_drop_on_noisy_items_is_inconclusive(project: ProjectDir) -> None:
    history = History(project, size=20)
    # the baseline already gets some wrong; the new run swaps which ones
    for n in (0, 1, 2, 3):
        history.answers[f"question {n}"] = "wrong"
    history.commit_and_run("v1")
    history.answers = {q: e for q, e in history.items.values()}
    for n in (4, 5, 6, 7, 8):
        history.answers[f"question {n}"] = "wrong"
    history.commit_and_run("v2")
    result = invoke(project, "compare", "--fail-on-regression", "--format", "json")
    assert result.exit_code == 0
    [scorer] = json.loads(result.output)["scorers"]
    assert scorer["delta"] == pytest.approx(-0.05 * 1)  # 16/20 -> 15/20
    assert scorer["verdict"] == "inconclusive" and scorer["p_value"] > 0.05
    assert scorer["regressed"] == 5 and scorer["improved"] == 4


def test_dataset_changes_are_classed_named_and_left_out(project: ProjectDir) -> None:
    history = History(project, size=10)
    a = history.commit_and_run("v1")
    del history.items["q09"]
    history.items["q00"] = ("question zero, reworded", "answer 0")
    history.items["q01"] = ("question 1", "a better answer 1")
    history.items["new-one"] = ("question new", "answer new")
    history.project.write("datasets/qa.yaml", dataset_yaml(history.items))
    dataset_commit = history.project.commit("edit the dataset")
    b = history.commit_and_run("run again")
    result = invoke(project, "compare", a, b)
    out = result.output
    assert "The runs used different versions of dataset 'qa'" in out
    assert "1 added (new-one)" in out and "1 removed (q09)" in out
    assert "1 input changed (q00)" in out and "1 expected changed (q01)" in out
    assert f"{dataset_commit[:8]}" in out and "Test Author: edit the dataset" in out
    data = json.loads(invoke(project, "compare", a, b, "--format", "json").output)
    assert data["scorers"][0]["n"] == 7  # only unchanged items count
    wider = json.loads(invoke(project, "compare", a, b, "--format", "json", "--include-changed").output)
    assert wider["scorers"][0]["n"] == 9
    assert data["dataset_commits"][0]["sha"] == dataset_commit


def test_errors_are_counted_apart_never_as_zero(project: ProjectDir) -> None:
    project.write("agent_mod.py", "import pathlib\ndef answer(q):\n    if 'boom' in pathlib.Path('mode.txt').read_text() and q.endswith('3'):\n        raise RuntimeError('down')\n    return q\n")
    project.write("mode.txt", "ok")
    project.write("datasets/qa.yaml", dataset_yaml({f"q{n}": (f"q{n}", f"q{n}") for n in range(5)}))
    project.write("evals/qa.yaml", "dataset: qa\ntarget: agent_mod:answer\nscorers: [exact_match]\n")
    project.git_init()
    project.commit()
    invoke(project, "run", "qa")
    (project.root / "mode.txt").write_text("boom")
    invoke(project, "run", "qa")
    data = json.loads(invoke(project, "compare", "--format", "json").output)
    assert data["errors_b"] == ["q3"]
    scorer = data["scorers"][0]
    assert scorer["n"] == 4 and scorer["missing_b"] == 1 and scorer["delta"] == 0.0


def test_config_and_dirty_warnings(project: ProjectDir) -> None:
    history = History(project, size=5)
    history.commit_and_run("v1")
    project.write("evals/qa.yaml", "dataset: qa\ntarget: agent_mod:answer\ntarget_options: {}\ntrials: 2\n"
                  "scorers: [{type: exact_match, case_sensitive: false}, contains]\n")
    invoke(project, "run", "qa")  # eval file not committed: dirty
    out = invoke(project, "compare").output
    assert "The trials differ: 1 in A, 2 in B." in out
    assert "The scorer sets differ" in out and "'contains'" in out
    assert "Scorer 'exact_match' is configured differently" in out
    assert "was made with uncommitted changes to evals/qa.yaml" in out


def test_a_python_scorer_is_named_as_its_scores_are(project: ProjectDir) -> None:
    # `module:fn` scorers store their scores under `fn`; compare must name the
    # recorded spec the same way to see that its configuration changed.
    project.write("agent_mod.py", "def answer(q):\n    return q\n")
    project.write("checks.py", "def same(output, expected, **_):\n    return float(output == expected)\n")
    project.write("datasets/qa.yaml", dataset_yaml({f"q{n}": (f"q{n}", f"q{n}") for n in range(3)}))
    project.write("evals/qa.yaml", "dataset: qa\ntarget: agent_mod:answer\nscorers: [{type: 'checks:same', threshold: 0.5}]\n")
    project.git_init()
    project.commit()
    invoke(project, "run", "qa")
    project.write("evals/qa.yaml", "dataset: qa\ntarget: agent_mod:answer\nscorers: [{type: 'checks:same', threshold: 0.9}]\n")
    invoke(project, "run", "qa")
    out = invoke(project, "compare").output
    assert "Scorer 'same' is configured differently" in out and "The scorer sets differ" not in out


def test_baseline_found_on_another_branch_through_git(project: ProjectDir) -> None:
    history = History(project, size=10)
    project.write(".gitignore", "__pycache__/\n")
    history.commit_and_run("v1 on main")
    project.commit("commit the run on main")
    main_run = newest_run(project)
    main_head = git(project.root, "rev-parse", "HEAD")
    # a feature branch from before the run was committed: runs/ is not in its tree
    git(project.root, "checkout", "--quiet", "-b", "feature", "HEAD~1")
    assert not (project.root / "runs" / "qa" / main_run).exists()
    for n in range(6):
        history.answers[f"question {n}"] = "wrong"
    feature_run = history.commit_and_run("worse on feature")
    root = find_project(project.root)
    baseline = find_baseline(root, "qa", "main", exclude=feature_run)
    assert baseline.id == main_run and baseline.source.startswith(main_head[:8])
    assert len(baseline.records) == 10
    result = invoke(project, "compare", "--baseline", "main", "--fail-on-regression")
    assert result.exit_code == 1 and f"against baseline A {main_run}" in result.output
    via_ref = invoke(project, "compare", "qa@main", feature_run)
    assert f"A {main_run}" in via_ref.output


def test_run_with_baseline_compares_in_one_step(project: ProjectDir) -> None:
    history = History(project, size=10)
    history.commit_and_run("v1")
    for n in range(8):
        history.answers[f"question {n}"] = "wrong"
    history.save()
    project.commit("worse")
    result = invoke(project, "run", "qa", "--baseline", "HEAD~1", "--fail-on-regression")
    assert result.exit_code == 1
    assert "REGRESSION: exact_match -0.800" in result.output
    runs_before = sorted((project.root / "runs" / "qa").iterdir())
    no_base = invoke(project, "run", "qa", "--baseline", "HEAD~1~1~1")
    assert no_base.exit_code == 2 and "is not a commit, branch or tag" in no_base.output
    assert sorted((project.root / "runs" / "qa").iterdir()) == runs_before  # refused before running anything


def test_baseline_picks_the_run_nearest_to_the_ref(project: ProjectDir) -> None:
    history = History(project, size=3)
    first = history.commit_and_run("one")
    second = history.commit_and_run("two")
    history.commit_and_run("three")
    root = find_project(project.root)
    assert find_baseline(root, "qa", "HEAD~1").id == second
    assert find_baseline(root, "qa", "HEAD~2").id == first
    with pytest.raises(Exception, match="no run of eval 'qa' was made"):
        find_baseline(root, "qa", "HEAD~2", exclude=first)


def test_compare_needs_two_runs_and_good_names(project: ProjectDir) -> None:
    history = History(project, size=3)
    run_id = history.commit_and_run("one")
    result = invoke(project, "compare")
    assert result.exit_code == 2 and "need two runs to compare, found 1" in result.output
    alone = invoke(project, "compare", run_id)
    assert alone.exit_code == 2 and "nothing newer to compare with" in alone.output
    assert invoke(project, "compare", "a", "b", "c").exit_code == 2


def test_markdown_folds_items_and_writes_a_file(project: ProjectDir, tmp_path: Path) -> None:
    history = History(project, size=10)
    history.commit_and_run("v1")
    for n in range(5):
        history.answers[f"question {n}"] = "wrong | with pipe"
    history.commit_and_run("v2")
    out = tmp_path / "report.md"
    result = invoke(project, "compare", "--format", "markdown", "-o", str(out))
    assert result.exit_code == 0
    text = out.read_text()
    assert text.startswith("### gitevals: ❌ REGRESSION")
    assert "<details><summary>5 regressed items, worst first</summary>" in text
    assert "wrong \\| with pipe" in text  # table cells stay intact


def test_dataset_history_lists_item_changes(project: ProjectDir) -> None:
    history = History(project, size=3)
    project.commit("v1")
    history.items["q03"] = ("question 3", "answer 3")
    history.items["q00"] = ("question 0", "changed")
    history.save()
    project.commit("add and change")
    del history.items["q01"]
    history.save()
    project.commit("remove")
    out = invoke(project, "dataset", "history", "qa").output.splitlines()
    assert "+0 ~0 -1  remove" in out[0] and out[1].strip() == "- q01"
    assert "+1 ~1 -0  add and change" in out[2]
    assert "+3 ~0 -0  v1" in out[-2]
    cache = list((project.root / ".git" / "gitevals" / "datasets").glob("*.tsv"))
    assert len(cache) == 3  # one parsed copy per version


def test_a_drop_on_few_items_is_inconclusive_but_says_how_many_items_regressed(project: ProjectDir) -> None:
    history = History(project, size=4)
    history.commit_and_run("v1")
    history.answers["question 0"] = history.answers["question 1"] = "wrong"
    history.commit_and_run("worse")
    result = invoke(project, "compare", "--fail-on-regression")
    assert result.exit_code == 0, result.output  # 4 items: not significant
    text = " ".join(result.output.split())
    assert "inconclusive for exact_match" in text and "Still, 2 items regressed; `gate: {max_regressions: 0}`" in text
    [scorer] = json.loads(invoke(project, "compare", "--format", "json").output)["scorers"]
    assert scorer["delta"] == pytest.approx(-0.5) and scorer["ci_low"] == -1.0  # the t interval reaches -1.4
    assert -0.5 < scorer["ci_high"] <= 1.0


def test_statistics_match_known_values() -> None:
    assert t_two_sided_p(2.0, 10) == pytest.approx(0.07339, abs=1e-5)
    assert t_critical(0.95, 10) == pytest.approx(2.2281, abs=1e-4)
    assert t_critical(0.95, 10_000) == pytest.approx(1.9602, abs=1e-4)
    result = paired_t([-0.2, -0.1, -0.3, -0.2, -0.2])
    assert result.mean == pytest.approx(-0.2)
    assert result.p_value == pytest.approx(0.0032, abs=1e-4)  # t = -6.32, df 4
    assert paired_t([0.5]).p_value is None and paired_t([]).mean is None
    same = paired_t([-0.5, -0.5, -0.5])
    assert (same.ci_low, same.ci_high, same.p_value) == (-0.5, -0.5, 0.0)


def test_outside_git_compare_still_works(project: ProjectDir) -> None:
    project.write("agent_mod.py", "def answer(q):\n    return q\n")
    project.write("datasets/qa.yaml", dataset_yaml({"a": ("x", "x"), "b": ("y", "y")}))
    project.write("evals/qa.yaml", "dataset: qa\ntarget: agent_mod:answer\nscorers: [exact_match]\n")
    env = {"GIT_CEILING_DIRECTORIES": str(project.root.parent)}
    import os
    import shutil
    import sys

    exe = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"
    for _ in range(2):
        subprocess.run([exe, "run", "qa"], cwd=project.root, env={**os.environ, **env}, check=True, capture_output=True)
    done = subprocess.run([exe, "compare"], cwd=project.root, env={**os.environ, **env}, capture_output=True, text=True)
    assert done.returncode == 0 and "No regression." in done.stdout
