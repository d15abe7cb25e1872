"""`gitevals score RUN`: scorers applied to a finished run's stored outputs, in real git repositories."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gitevals.engine import score_run
from gitevals.formats import ResultLine, RunManifest
from gitevals.project import find_project
from gitevals.runs import SCORES, list_runs
from tests.conftest import ProjectDir, git, invoke

EXE = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"

# The answers come from answers.json, read on every call, and every call is
# logged, so a test can see that scoring never calls the target.
AGENT = '''
import json, pathlib

HERE = pathlib.Path(__file__).parent


def answer(question):
    with open(HERE / "target-calls.log", "a") as log:
        log.write(question + "\\n")
    answers = json.loads((HERE / "answers.json").read_text())
    if answers.get(question) == "ERROR":
        raise RuntimeError("model unavailable")
    return answers.get(question, "no idea")
'''

SCORERS = '''
import pathlib, time

from gitevals.scorers import NotApplicable

HERE = pathlib.Path(__file__).parent


def slow(sample):
    """Logs each call; sleeps while the file `slow` exists."""
    with open(HERE / "scorer-calls.log", "a") as log:
        log.write(f"{sample.item_id}\\n")
    if (HERE / "slow").exists():
        time.sleep(0.4)
    return 1.0 if str(sample.expected) in str(sample.output) else 0.0


def knows_trajectory(sample):
    if sample.expected_trajectory is None:
        raise NotApplicable("no expected trajectory")
    return {"value": 1.0, "reason": ",".join(s["name"] for s in sample.expected_trajectory["steps"])}


def option_seen(sample):
    return {"value": 1.0, "reason": str(sample.target_options.get("tone"))}
'''



class QA:
    """A committed project: agent, scorer module, a dataset of `size` questions and eval `qa`."""

    def __init__(self, project: ProjectDir, size: int = 6, scorers: str = "[]", trials: int = 1) -> None:
        self.project = project
        self.root = project.root
        self.items = {f"q{n}": (f"question {n}", f"answer {n}") for n in range(size)}
        self.answers = {question: expected for question, expected in self.items.values()}
        project.write("agent_mod.py", AGENT)
        project.write("my_scorers.py", SCORERS)
        project.write(".gitignore", "__pycache__/\n*.log\n")
        project.write("evals/qa.yaml", f"dataset: qa\ntarget: agent_mod:answer\ntrials: {trials}\nscorers: {scorers}\n")
        self.save()
        project.git_init()
        git(self.root, "config", "user.name", "Rita Reviewer")
        project.commit("initial")

    def save(self) -> None:
        lines = ["items:"]
        for item_id, (question, expected) in self.items.items():
            lines += [f"  - id: {item_id}", f"    input: {question}", f"    expected: {expected}"]
        self.project.write("datasets/qa.yaml", "\n".join(lines) + "\n")
        self.project.write("answers.json", json.dumps(self.answers))

    def run(self) -> Path:
        result = invoke(self.project, "run", "qa")
        assert result.exit_code in (0, 1), result.output
        return list_runs(self.root / "runs", "qa")[-1].path

    def target_calls(self) -> int:
        log = self.root / "target-calls.log"
        return len(log.read_text().splitlines()) if log.exists() else 0


def records(folder: Path) -> list[ResultLine]:
    return [ResultLine.model_validate_json(line) for line in (folder / "results.jsonl").read_text().splitlines()]


def manifest(folder: Path) -> RunManifest:
    return RunManifest.model_validate_json((folder / "run.json").read_text())


def by_item(folder: Path, scorer: str) -> dict[tuple[str, int], float | None]:
    return {(r.item_id, r.trial): r.scores[scorer].value for r in records(folder) if scorer in r.scores}


def test_scoring_a_run_made_without_scorers(project: ProjectDir) -> None:
    qa = QA(project)
    qa.answers["question 1"] = "wrong"
    qa.answers["question 2"] = "ERROR"
    qa.save()
    folder = qa.run()
    calls = qa.target_calls()
    assert manifest(folder).summary.scores == {}  # type: ignore[union-attr]
    assert [(g.metric, g.actual) for g in manifest(folder).gates] == [("failed_items", 1)]  # q2's error
    result = invoke(project, "score", folder.name, "--scorer", "exact_match",
                    "--scorer", "{type: contains, name: says-answer, value: answer}")
    assert result.exit_code == 1, result.output  # the gates of `gitevals run`: q1 and q2 fail now
    assert "FAIL  all items  2 failed, needs 0" in result.output
    assert qa.target_calls() == calls  # the target was not called again
    lines = records(folder)
    assert len(lines) == 6
    failed = next(r for r in lines if r.item_id == "q2")
    assert failed.error is not None and failed.scores == {}  # no output, no scores
    assert by_item(folder, "exact_match") == {(f"q{n}", 0): (0.0 if n == 1 else 1.0) for n in (0, 1, 3, 4, 5)}
    assert by_item(folder, "says-answer")[("q1", 0)] == 0.0 and by_item(folder, "says-answer")[("q0", 0)] == 1.0
    assert all(r.scores["exact_match"].added_at for r in lines if r.error is None)
    m = manifest(folder)
    assert m.summary is not None and m.summary.scores["exact_match"].mean == pytest.approx(0.8)
    # the gates are checked again, with the rule of an eval without thresholds: q1 fails now too
    assert [(g.metric, g.actual, g.passed) for g in m.gates] == [("failed_items", 2, False)]
    assert m.summary.scores["exact_match"].n == 5 and m.summary.errors == 1
    assert m.config["scorers"] == [{"type": "exact_match"}, {"type": "contains", "name": "says-answer", "value": "answer"}]
    [done] = m.scoring
    assert (done.scored, done.errors, done.target_errors, done.replaced, done.user) == (10, 0, 1, [], "Rita Reviewer")
    assert not (folder / SCORES).exists()
    assert "exact_match" in result.output and "0.800" in result.output and "80%" in result.output
    assert "10 scores added" in result.output and "1 target error not scored" in result.output


def test_a_second_scorer_is_added_and_existing_names_are_refused(project: ProjectDir) -> None:
    qa = QA(project, scorers="[{type: contains, name: has-answer}]")
    qa.answers["question 0"] = "I think answer 0, probably"
    qa.save()
    folder = qa.run()
    before = by_item(folder, "has-answer")
    added = invoke(project, "score", "qa", "--scorer", "exact_match")
    assert added.exit_code == 1, added.output  # q0 fails exact_match, and the eval sets no thresholds
    assert by_item(folder, "has-answer") == before  # untouched
    assert by_item(folder, "exact_match")[("q0", 0)] == 0.0 and by_item(folder, "exact_match")[("q1", 0)] == 1.0
    assert list(manifest(folder).summary.scores) == ["has-answer", "exact_match"]  # type: ignore[union-attr]
    results_before = (folder / "results.jsonl").read_bytes()
    refused = invoke(project, "score", "qa", "--scorer", "exact_match")
    assert refused.exit_code == 2
    assert "already has scores for 'exact_match'" in refused.output
    assert "--only-missing" in refused.output and "--replace" in refused.output
    # with no --scorer, the eval file's current scorers are applied
    project.write("evals/qa.yaml", "dataset: qa\ntarget: agent_mod:answer\n"
                  "scorers: [{type: contains, name: has-answer}, exact_match, {type: contains, name: polite, value: please}]\n")
    from_eval = invoke(project, "score", "qa")
    assert from_eval.exit_code == 2 and "'has-answer', 'exact_match'" in from_eval.output
    assert (folder / "results.jsonl").read_bytes() == results_before and not (folder / SCORES).exists()
    missing = invoke(project, "score", "qa", "--only-missing")
    assert missing.exit_code == 1, missing.output  # every item fails polite
    assert by_item(folder, "polite") == {(f"q{n}", 0): 0.0 for n in range(6)}
    assert by_item(folder, "exact_match")[("q0", 0)] == 0.0
    assert manifest(folder).scoring[-1].kept == 12 and manifest(folder).scoring[-1].scored == 6
    # an eval file with no scorers needs --scorer
    project.write("evals/bare.yaml", "dataset: qa\ntarget: agent_mod:answer\n")
    bare = invoke(project, "score", "qa", "--eval", "bare")
    assert bare.exit_code == 2 and "eval 'bare' has no scorers" in bare.output


def test_replace_keeps_the_old_scores_in_history(project: ProjectDir) -> None:
    qa = QA(project, scorers="[{type: contains, name: has-answer}]")
    project.write("evals/qa.yaml", "dataset: qa\ntarget: agent_mod:answer\nscorers: [{type: contains, name: has-answer}]\n"
                  "thresholds: {has-answer: 0.9}\n")
    project.commit("gate")
    qa.answers["question 0"] = "answer 0 (from the policy)"
    qa.save()
    folder = qa.run()
    assert manifest(folder).gates[0].passed is True
    spec = "{type: contains, name: has-answer, value: policy}"
    mixed = invoke(project, "score", "qa", "--only-missing", "--scorer", spec)
    assert mixed.exit_code == 2 and "configured differently in this run" in mixed.output
    result = invoke(project, "score", "qa", "--replace", "--scorer", spec, "--no-fail")
    assert result.exit_code == 0, result.output  # the gate fails now (see below), --no-fail ignores it
    q0 = next(r for r in records(folder) if r.item_id == "q0").scores["has-answer"]
    q1 = next(r for r in records(folder) if r.item_id == "q1").scores["has-answer"]
    assert (q0.value, q1.value, q1.passed) == (1.0, 0.0, False)
    [old] = q1.history
    assert (old.value, old.passed, old.replaced_by) == (1.0, True, "Rita Reviewer")
    assert old.scorer == {"type": "contains", "name": "has-answer"} and old.replaced_at
    m = manifest(folder)
    assert m.config["scorers"] == [{"type": "contains", "name": "has-answer", "value": "policy"}]
    assert m.scoring[-1].replaced == ["has-answer"]
    assert m.summary.scores["has-answer"].mean == pytest.approx(1 / 6)  # type: ignore[union-attr]
    assert (m.gates[0].passed, m.gates[0].actual) == (False, pytest.approx(1 / 6))  # the gate is checked again
    again = invoke(project, "score", "qa", "--replace", "--scorer", "{type: contains, name: has-answer}")
    assert again.exit_code == 0, again.output
    q1 = next(r for r in records(folder) if r.item_id == "q1").scores["has-answer"]
    assert q1.value == 1.0 and [h.value for h in q1.history] == [1.0, 0.0]  # oldest first, nothing lost
    assert q1.history[1].scorer == {"type": "contains", "name": "has-answer", "value": "policy"}
    both = invoke(project, "score", "qa", "--replace", "--only-missing", "--scorer", "exact_match")
    assert both.exit_code == 2 and "cannot be used together" in both.output


def test_only_missing_finishes_a_killed_pass_without_duplicates(project: ProjectDir) -> None:
    qa = QA(project, size=8)
    folder = qa.run()
    results_before = (folder / "results.jsonl").read_bytes()
    (project.root / "slow").write_text("")
    side = folder / SCORES
    process = subprocess.Popen(
        [EXE, "-C", str(project.root), "score", folder.name, "--scorer", "my_scorers:slow", "--concurrency", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (side.exists() and len(side.read_text().splitlines()) >= 4):  # the pass header and 3 scores
            assert time.monotonic() < deadline and process.poll() is None, "the scoring pass did not start"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert (folder / "results.jsonl").read_bytes() == results_before  # a killed pass changes nothing
    written = [json.loads(line) for line in side.read_text().splitlines()]
    done_before = {entry["item_id"] for entry in written if "item_id" in entry}
    assert 3 <= len(done_before) < 8
    with side.open("a") as handle:
        handle.write('{"item_id": "q7", "trial": 0, "sco')  # as if killed in the middle of a line
    calls_log = project.root / "scorer-calls.log"
    calls_before = len(calls_log.read_text().splitlines())
    (project.root / "slow").unlink()

    plain = invoke(project, "score", folder.name, "--scorer", "my_scorers:slow")
    assert plain.exit_code == 2 and "an interrupted scoring pass left scores for 'slow'" in plain.output
    other = invoke(project, "score", folder.name, "--only-missing", "--scorer", "exact_match")
    assert other.exit_code == 2 and "finish it first" in other.output and "my_scorers:slow" in other.output
    finished = invoke(project, "score", folder.name, "--only-missing", "--scorer", "my_scorers:slow")
    assert finished.exit_code == 0, finished.output

    called_after = calls_log.read_text().splitlines()[calls_before:]
    assert not done_before & set(called_after)  # nothing scored twice
    assert done_before | set(called_after) == {f"q{n}" for n in range(8)}
    lines = records(folder)
    assert sorted((r.item_id, r.trial) for r in lines) == [(f"q{n}", 0) for n in range(8)]
    assert all(r.scores["slow"].value == 1.0 for r in lines)
    m = manifest(folder)
    assert m.summary.scores["slow"].n == 8  # type: ignore[union-attr]
    assert (m.scoring[-1].reused, m.scoring[-1].scored, len(m.scoring)) == (len(done_before), 8, 1)
    assert not side.exists()
    again = invoke(project, "score", folder.name, "--only-missing", "--scorer", "my_scorers:slow")
    assert again.exit_code == 0 and "nothing to score" in again.output
    assert len(manifest(folder).scoring) == 1  # a pass with nothing to do records nothing


def test_compare_treats_added_scores_like_original_ones(project: ProjectDir) -> None:
    qa = QA(project, size=10)
    first = qa.run()
    for n in range(8):
        qa.answers[f"question {n}"] = "wrong"
    qa.save()
    project.commit("worse answers")
    second = qa.run()
    before = json.loads(invoke(project, "compare", first.name, second.name, "--format", "json").output)
    assert before["scorers"] == []
    for folder in (first, second):
        assert invoke(project, "score", folder.name, "--scorer", "exact_match", "--no-fail").exit_code == 0
    result = invoke(project, "compare", first.name, second.name, "--fail-on-regression")
    assert result.exit_code == 1, result.output
    assert "REGRESSION: exact_match -0.800" in result.output and "scorer sets differ" not in result.output
    data = json.loads(invoke(project, "compare", first.name, second.name, "--format", "json").output)
    [scorer] = data["scorers"]
    assert (scorer["name"], scorer["n"], scorer["regressed"]) == ("exact_match", 10, 8)
    # the specs the passes add to run.json feed compare's configuration warnings
    invoke(project, "score", first.name, "--scorer", "{type: contains, name: says, value: answer}")
    invoke(project, "score", second.name, "--scorer", "{type: contains, name: says, value: wrong}")
    warned = invoke(project, "compare", first.name, second.name).output
    assert "Scorer 'says' is configured differently" in warned


def test_trials_are_scored_one_by_one(project: ProjectDir) -> None:
    qa = QA(project, size=3, trials=3)
    folder = qa.run()
    root = find_project(project.root)
    seen: list[Any] = []
    outcome = score_run(root, folder.name, ["exact_match"], on_start=seen.append)
    assert seen[0].to_score == 9
    assert set(by_item(folder, "exact_match")) == {(f"q{n}", t) for n in range(3) for t in range(3)}
    # the summary is the one `gitevals run` records when the eval has the scorer from the start
    project.write("evals/scored.yaml", "dataset: qa\ntarget: agent_mod:answer\ntrials: 3\nscorers: [exact_match]\n")
    assert invoke(project, "run", "scored").exit_code == 0
    [direct] = list_runs(project.root / "runs", "scored")
    assert outcome.scores["exact_match"] == direct.manifest.summary.scores["exact_match"]  # type: ignore[union-attr]
    assert manifest(folder).summary.scores["exact_match"] == outcome.scores["exact_match"]  # type: ignore[union-attr]
    # take one trial's score away (a partly scored run): only that one is scored again
    lines = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    target = next(r for r in lines if (r["item_id"], r["trial"]) == ("q1", 2))
    del target["scores"]["exact_match"]
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    outcome = score_run(root, folder.name, ["exact_match"], only_missing=True)
    assert (outcome.scoring.scored, outcome.scoring.kept) == (1, 8)
    assert by_item(folder, "exact_match")[("q1", 2)] == 1.0 and len(records(folder)) == 9


def test_a_run_found_only_in_git_history_is_scored_into_the_working_tree(project: ProjectDir) -> None:
    qa = QA(project, size=4, scorers="[exact_match]")
    folder = qa.run()
    run_id = folder.name
    project.commit("commit the run on main")
    main_head = git(project.root, "rev-parse", "HEAD")
    git(project.root, "checkout", "--quiet", "-b", "feature", "HEAD~1")
    assert not folder.exists()
    result = invoke(project, "score", "qa@main", "--scorer", "{type: contains, name: says-answer, value: answer}")
    assert result.exit_code == 0, result.output
    assert f"copied {main_head[:8]}:runs/qa/{run_id}" in result.output
    assert folder.is_dir()
    lines = records(folder)
    assert all(set(r.scores) == {"exact_match", "says-answer"} for r in lines) and len(lines) == 4
    m = manifest(folder)
    assert m.id == run_id and m.scoring[0].copied_from == f"{main_head[:8]}:runs/qa/{run_id}"
    assert list(m.summary.scores) == ["exact_match", "says-answer"]  # type: ignore[union-attr]
    committed = git(project.root, "show", f"main:runs/qa/{run_id}/results.jsonl")
    assert "says-answer" not in committed  # history is never rewritten
    # now the working tree copy is the run: it already has the new scorer
    again = invoke(project, "score", "qa@main", "--scorer", "{type: contains, name: says-answer, value: answer}")
    assert again.exit_code == 2 and "already has scores for 'says-answer'" in again.output


def test_bad_scorer_specs_are_named_and_change_nothing(project: ProjectDir) -> None:
    qa = QA(project, size=2)
    folder = qa.run()
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    cases = {
        "{type: contains": "is not a valid mapping",
        "exact_mach": "unknown scorer 'exact_mach'\n  hint: did you mean 'exact_match'?",
        "{name: x}": "scorer {name: x}: missing required key 'type'\n  hint: a scorer mapping needs `type:`",
        "{type: contains, vaule: x}": "scorer 'contains' has no option 'vaule'",
        "no_such_module:scorer": "cannot import module 'no_such_module'",
        "my_scorers:missing": "'my_scorers' has no attribute 'missing'",
        "[exact_match]": "unknown scorer '[exact_match]'",
    }
    for spec, message in cases.items():
        done = invoke(project, "score", folder.name, "--scorer", spec)
        assert done.exit_code == 2 and message in done.output, (spec, done.output)
    together = invoke(project, "score", folder.name, "--scorer", "exact_mach", "--scorer", "{type: contans}")
    assert together.exit_code == 2 and "2 problems" in together.output and "'contans'" in together.output
    twice = invoke(project, "score", folder.name, "--scorer", "exact_match", "--scorer", "{type: exact_match}")
    assert twice.exit_code == 2 and "two scorers are named 'exact_match'" in twice.output
    both = invoke(project, "score", folder.name, "--eval", "qa", "--scorer", "exact_match")
    assert both.exit_code == 2 and "--eval" in both.output
    unknown = invoke(project, "score", "nope", "--scorer", "exact_match")
    assert unknown.exit_code == 2 and "no run 'nope'" in unknown.output
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no side file, no change
    done = subprocess.run([EXE, "-C", str(project.root), "score", folder.name, "--scorer", "{type: regex}"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "scorer {type: regex}: scorer 'regex' needs the option 'pattern'" in done.stderr


def test_what_results_do_not_store_comes_from_the_unchanged_dataset_item(project: ProjectDir) -> None:
    project.write("agent_mod.py", "def answer(q, tone='plain'):\n    return q\n")
    project.write("my_scorers.py", SCORERS)
    project.write("datasets/qa.yaml", """
        items:
          - {id: a, input: x, expected_trajectory: {steps: [{type: tool_call, name: lookup}]}, start_options: {tone: warm}}
          - {id: b, input: y, expected_trajectory: {steps: [{type: tool_call, name: search}]}}
          - {id: c, input: z}
        """)
    project.write("evals/qa.yaml", "dataset: qa\ntarget: agent_mod:answer\ntarget_options: {tone: dry}\n")
    project.git_init()
    project.commit()
    assert invoke(project, "run", "qa").exit_code == 0
    folder = list_runs(project.root / "runs", "qa")[-1].path
    # item b's expected trajectory is edited after the run: it is not the item that was run
    path = project.root / "datasets/qa.yaml"
    path.write_text(path.read_text().replace("name: search", "name: browse"))
    result = invoke(project, "score", "qa", "--scorer", "my_scorers:knows_trajectory", "--scorer", "my_scorers:option_seen")
    assert result.exit_code == 0, result.output
    scores = {r.item_id: r.scores for r in records(folder)}
    assert (scores["a"]["knows_trajectory"].value, scores["a"]["knows_trajectory"].reason) == (1.0, "lookup")
    assert scores["b"]["knows_trajectory"].skipped and scores["c"]["knows_trajectory"].skipped
    assert [scores[i]["option_seen"].reason for i in "abc"] == ["warm", "dry", "dry"]
    assert manifest(folder).scoring[0].skipped == 2


def test_a_running_run_is_not_scored(project: ProjectDir) -> None:
    qa = QA(project, size=2)
    folder = qa.run()
    data = json.loads((folder / "run.json").read_text())
    data["status"] = "running"
    (folder / "run.json").write_text(json.dumps(data))
    result = invoke(project, "score", folder.name, "--scorer", "exact_match")
    assert result.exit_code == 2 and "is still running" in result.output
    assert not (folder / SCORES).exists()


def test_a_second_pass_on_a_run_waits_for_the_first_and_both_land(project: ProjectDir) -> None:
    qa = QA(project, size=6)
    folder = qa.run()
    (project.root / "slow").write_text("")  # 0.4 s a score: the first pass takes 2.4 s
    command = [EXE, "-C", str(project.root), "score", folder.name, "--concurrency", "1", "--scorer"]
    first = subprocess.Popen([*command, "my_scorers:slow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not ((folder / SCORES).exists() and len((folder / SCORES).read_text().splitlines()) >= 2):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    second = subprocess.run([*command, "contains"], capture_output=True, text=True, timeout=60)
    assert first.poll() is not None  # the second pass ended after the first: it waited
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0, (out, err, second.stdout, second.stderr)
    assert all({"slow", "contains"} <= set(r.scores) for r in records(folder))  # neither pass's scores lost
    manifest = RunManifest.model_validate_json((folder / "run.json").read_text())
    assert [json.dumps(p.scorers) for p in manifest.scoring] == ['[{"type": "my_scorers:slow"}]', '[{"type": "contains"}]']
