"""The CLI against real projects in temporary git repositories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitevals.cli import cli
from gitevals.formats import ResultLine, RunManifest
from tests.conftest import ProjectDir, git, invoke

EXE = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"



def only_run(project: ProjectDir, eval_name: str = "support") -> Path:
    [folder] = (project.root / "runs" / eval_name).iterdir()
    return folder


def test_run_writes_manifest_and_results(support_project: ProjectDir) -> None:
    result = invoke(support_project, "run", "support")
    assert result.exit_code == 0, result.output
    folder = only_run(support_project)
    manifest = RunManifest.model_validate_json((folder / "run.json").read_text())
    assert manifest.status == "completed" and manifest.eval == "support" and manifest.dataset == "support"
    assert manifest.git is not None
    assert manifest.git.commit == git(support_project.root, "rev-parse", "HEAD")
    assert manifest.git.branch == "main" and manifest.git.dirty is False
    assert manifest.dataset_blob_sha == git(support_project.root, "rev-parse", "HEAD:datasets/support.yaml")
    assert manifest.summary is not None and manifest.summary.total_items == 3
    assert manifest.summary.scores["has-answer"].mean == pytest.approx(2 / 3)
    assert [g.passed for g in manifest.gates] == [True]
    lines = (folder / "results.jsonl").read_text().splitlines()
    records = [ResultLine.model_validate_json(line) for line in lines]
    assert sorted(r.item_id for r in records) == ["opening-hours", "refund-window", "unknown-topic"]
    refund = next(r for r in records if r.item_id == "refund-window")
    assert refund.output == "You can ask for a refund within 30 days."
    assert refund.scores["has-answer"].value == 1.0 and refund.scores["has-answer"].passed is True
    assert len(refund.input_hash) == 64 and refund.expected == "30 days"
    # the end of the output names the failing item, the summary and the gate
    assert "unknown-topic" in result.output and "missing 'we accept'" in result.output
    assert "pass  has-answer  mean 0.67, needs >= 0.50" in result.output
    assert f"runs/support/{folder.name}/" in result.output


def test_failing_threshold_exits_1(support_project: ProjectDir) -> None:
    support_project.write(
        "evals/strict.yaml",
        """
        dataset: support
        target: support_agent:answer
        scorers: [{type: contains, name: has-answer}]
        thresholds: {has-answer: {mean: 0.9, pass_rate: 0.5}}
        """,
    )
    result = invoke(support_project, "run", "strict")
    assert result.exit_code == 1
    assert "FAIL  has-answer  mean 0.67, needs >= 0.90" in result.output
    assert "pass  has-answer  pass rate 0.67, needs >= 0.50" in result.output


def test_every_item_erroring_exits_1(support_project: ProjectDir) -> None:
    support_project.write("evals/broken.yaml", "dataset: support\ntarget: support_agent:broken\n")
    result = invoke(support_project, "run", "broken")
    assert result.exit_code == 1
    assert "RuntimeError: model unavailable" in result.output
    assert "3 items: 0 completed, 3 target errors" in result.output


def test_uncommitted_dataset_is_recorded_as_dirty(support_project: ProjectDir) -> None:
    path = support_project.root / "datasets/support.yaml"
    path.write_text(path.read_text() + "  - {id: new-one, input: 'refund?', expected: 30 days}\n")
    assert invoke(support_project, "run", "support").exit_code == 0
    manifest = RunManifest.model_validate_json((only_run(support_project) / "run.json").read_text())
    assert manifest.git is not None and manifest.git.dirty is True
    assert manifest.git.dirty_paths == ["datasets/support.yaml"]
    assert manifest.summary is not None and manifest.summary.total_items == 4


def test_uncommitted_target_code_is_recorded_as_dirty(support_project: ProjectDir) -> None:
    assert invoke(support_project, "run", "support").exit_code == 0  # leaves an untracked run folder
    first = only_run(support_project)
    support_project.write("datasets/draft.yaml", "items: []\n")  # another dataset: not this run's
    support_project.write("evals-junit.xml", "<testsuites/>\n")  # an untracked report: not code
    agent = support_project.root / "support_agent.py"
    agent.write_text(agent.read_text() + "# tuned the prompt\n")
    assert invoke(support_project, "run", "support").exit_code == 0
    [second] = [f for f in (support_project.root / "runs/support").iterdir() if f != first]
    clean = RunManifest.model_validate_json((first / "run.json").read_text())
    manifest = RunManifest.model_validate_json((second / "run.json").read_text())
    assert clean.git is not None and clean.git.dirty is False
    assert manifest.git is not None and manifest.git.dirty is True
    assert manifest.git.dirty_paths == ["support_agent.py"]


def test_a_new_target_module_not_yet_committed_is_recorded_as_dirty(support_project: ProjectDir) -> None:
    support_project.write("new_agent.py", "def answer(question):\n    return '30 days'\n")  # never added to git
    support_project.write("helpers_draft.py", "# untracked, but not the target: not a change the run depends on\n")
    support_project.write("evals/new.yaml", "dataset: support\ntarget: new_agent:answer\nscorers: [contains]\n")
    git(support_project.root, "add", "evals/new.yaml")
    git(support_project.root, "commit", "--quiet", "-m", "the eval, not its agent")
    assert invoke(support_project, "run", "new").exit_code in (0, 1)
    manifest = RunManifest.model_validate_json((only_run(support_project, "new") / "run.json").read_text())
    assert manifest.git is not None and manifest.git.dirty_paths == ["new_agent.py"]


def test_command_target_folder_and_gitevals_yaml_count_as_dirty(project: ProjectDir) -> None:
    project.write("gitevals.yaml", "python_path: [lib]\n")
    project.write("agent/run.sh", "cat >/dev/null; echo '\"ok\"'\n")
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: x, expected: ok}\n")
    project.write("evals/e.yaml", "dataset: d\ntarget: {type: command, command: [sh, run.sh], cwd: agent}\n"
                  "scorers: [exact_match]\n")
    project.write("notes/todo.txt", "outside the code folders\n")
    project.git_init()
    project.commit()
    project.write("agent/run.sh", "cat >/dev/null; echo '\"ok\"'  # changed\n")
    project.write("gitevals.yaml", "python_path: [lib]  # changed\n")
    project.write("notes/todo.txt", "changed, but nothing the run reads\n")
    assert invoke(project, "run", "e").exit_code == 0
    manifest = RunManifest.model_validate_json((only_run(project, "e") / "run.json").read_text())
    assert manifest.git is not None and manifest.git.dirty_paths == ["agent/run.sh", "gitevals.yaml"]


def test_outside_git_records_null(project: ProjectDir) -> None:
    project.write("agent_mod.py", "def run(x):\n    return x\n")
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: x, expected: x}\n")
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:run\nscorers: [exact_match]\n")
    env_ceiling = {"GIT_CEILING_DIRECTORIES": str(project.root.parent)}
    done = subprocess.run([EXE, "run", "e"], cwd=project.root, env={**os.environ, **env_ceiling}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((only_run(project, "e") / "run.json").read_text())
    assert manifest["git"] is None and manifest["status"] == "completed"
    done = subprocess.run([EXE, "run", "e", "--baseline", "main"], cwd=project.root,
                          env={**os.environ, **env_ceiling}, capture_output=True, text=True)
    assert done.returncode == 2 and "--baseline needs a git repository" in done.stderr
    only_run(project, "e")  # still the one run: refused before running


def test_tag_filter_and_concurrency_override(support_project: ProjectDir) -> None:
    result = invoke(support_project, "run", "support", "--tag", "billing", "--concurrency", "1")
    assert result.exit_code == 0, result.output
    manifest = json.loads((only_run(support_project) / "run.json").read_text())
    assert manifest["tags"] == ["billing"] and manifest["config"]["concurrency"] == 1
    assert manifest["summary"]["total_items"] == 2
    typo = invoke(support_project, "run", "support", "--tag", "biling")
    assert typo.exit_code == 2 and "did you mean 'billing'" in typo.output


def test_eval_tags_and_trials_from_the_file(support_project: ProjectDir) -> None:
    support_project.write(
        "evals/general.yaml",
        "dataset: support\ntarget: support_agent:answer_async\ntags: [general]\ntrials: 2\nscorers: [contains]\n",
    )
    assert invoke(support_project, "run", "general").exit_code == 0
    lines = (only_run(support_project, "general") / "results.jsonl").read_text().splitlines()
    assert sorted((json.loads(x)["item_id"], json.loads(x)["trial"]) for x in lines) == [
        ("opening-hours", 0),
        ("opening-hours", 1),
    ]


def test_config_errors_are_located_and_exit_2(support_project: ProjectDir) -> None:
    support_project.write(
        "evals/bad.yaml",
        """
        dataset: suport
        target: support_agent:answr
        scorers:
          - exact_mach
          - {type: contains, vaule: x}
        """,
    )
    done = subprocess.run([EXE, "-C", str(support_project.root), "run", "bad"], capture_output=True, text=True)
    assert done.returncode == 2
    path = support_project.root / "evals/bad.yaml"
    assert "Traceback" not in done.stderr
    for expected in (
        f"{path}:1:10: no dataset named 'suport'",  # at the value, not the key
        "did you mean 'support'?",
        f"{path}:2:9: 'support_agent' has no attribute 'answr'",
        "did you mean 'answer'?",
        f"{path}:4:5: unknown scorer 'exact_mach'",
        f"{path}:5:22: scorer 'contains' has no option 'vaule'",  # at the option itself
    ):
        assert expected in done.stderr, done.stderr
    assert not (support_project.root / "runs").exists()  # nothing ran


def test_scorer_options_of_the_wrong_type_are_config_errors_at_load(support_project: ProjectDir) -> None:
    support_project.write(
        "evals/opts.yaml",
        """
        dataset: support
        target: support_agent:answer
        scorers:
          - {type: numeric_close, tolerance: "abc"}
          - {type: regex, pattern: 5}
          - {type: contains, case_sensitive: "maybe"}
          - type: contains
            name: block-style
            vaule: x
          - {type: regex, name: flags, pattern: a, flags: ignorecase}
          - {type: trajectory_accuracy, ordering: sideways}
          - {type: numeric_close, name: negative, tolerance: -1}
        """,
    )
    done = subprocess.run([EXE, "-C", str(support_project.root), "run", "opts"], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    path = support_project.root / "evals/opts.yaml"
    for expected in (
        f"{path}:4:27: scorer 'numeric_close': option 'tolerance' must be float, not 'abc'",
        f"{path}:5:19: scorer 'regex': option 'pattern' must be str, not 5",
        f"{path}:6:22: scorer 'contains': option 'case_sensitive' must be bool, not 'maybe'",
        f"{path}:9:5: scorer 'contains' has no option 'vaule'",
        f"{path}:10:44: scorer 'regex': option 'flags' must be list[str] | None, not 'ignorecase'",
        f"{path}:11:5: scorer 'trajectory_accuracy': unknown ordering 'sideways'; use strict, relaxed, unordered",
        f"{path}:12:5: scorer 'numeric_close': tolerance and rel_tolerance must not be negative",
    ):
        assert expected in done.stderr, done.stderr
    assert not (support_project.root / "runs").exists()  # nothing ran


def test_unknown_key_and_type_errors_in_eval(support_project: ProjectDir) -> None:
    support_project.write("evals/keys.yaml", "dataset: support\ntarget: support_agent:answer\nconcurency: 3\n")
    result = invoke(support_project, "run", "keys")
    assert result.exit_code == 2
    assert "keys.yaml:3:1: unknown key 'concurency'" in result.output and "did you mean 'concurrency'" in result.output
    support_project.write("evals/types.yaml", "dataset: support\ntarget: {type: rest, url: x}\ntrials: 0\n")
    result = invoke(support_project, "run", "types")
    assert result.exit_code == 2
    assert "unknown type 'rest'" in result.output and "types.yaml:3:1: trials: must be at least 1, found 0" in result.output


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [  # where, and what the message names (the wording of type errors is pydantic's, reworded)
        ("{has-answer: 1.5}", "7:3: thresholds.has-answer: "),
        ("{has-answer: -0.1}", "7:3: thresholds.has-answer: "),
        ("{has-answer: abc}", "7:3: thresholds.has-answer: "),
        ("{has-answer: true}", "7:3: thresholds.has-answer: "),
        ("{has-answer: {mean: 2}}", "7:16: thresholds.has-answer.mean: "),
        ("{has-answer: {}}", "7:3: thresholds.has-answer: a threshold needs `mean`, `pass_rate` or both"),
        ("{has-answer: {mean: 0.5, pass_rat: 1}}", "7:27: unknown key 'pass_rat' in thresholds.has-answer"),
        ("{has-anser: 0.5}", "7:3: threshold for unknown scorer 'has-anser'"),
    ],
)
def test_bad_thresholds_are_config_errors_before_the_run(support_project: ProjectDir, thresholds: str, expected: str) -> None:
    support_project.write(
        "evals/gated.yaml",
        "dataset: support\ntarget: support_agent:answer\nscorers:\n  - {type: contains, name: has-answer}\n"
        f"concurrency: 2\nthresholds:\n  {thresholds[1:-1]}\n",
    )
    done = subprocess.run([EXE, "-C", str(support_project.root), "run", "gated"], capture_output=True, text=True)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"error: {support_project.root / 'evals/gated.yaml'}:{expected}" in done.stderr, done.stderr
    assert done.stderr.count("evals/gated.yaml:") == 1  # one problem, not one per form a threshold may take
    assert "hint: " in done.stderr  # how to write it
    assert not (support_project.root / "runs").exists()  # nothing ran


def test_broken_target_module_names_its_file_and_line(support_project: ProjectDir) -> None:
    support_project.write("bad_agent.py", "x = 1\nraise ImportError('needs an API key')\n")
    support_project.write("evals/imp.yaml", "dataset: support\ntarget: bad_agent:run\n")
    result = invoke(support_project, "run", "imp")
    assert result.exit_code == 2
    assert "bad_agent.py:2: importing target 'bad_agent:run' raised ImportError: needs an API key" in result.output
    support_project.write("syntax_agent.py", "def run(x)\n    return x\n")
    support_project.write("evals/syn.yaml", "dataset: support\ntarget: syntax_agent:run\n")
    result = invoke(support_project, "run", "syn")
    assert result.exit_code == 2 and "syntax_agent.py:1:" in result.output and "syntax error" in result.output


def test_bad_dataset_stops_the_run_with_every_problem(support_project: ProjectDir) -> None:
    support_project.write("datasets/support.yaml", "items:\n  - input: a\n  - id: x y\n    input: b\n")
    result = invoke(support_project, "run", "support")
    assert result.exit_code == 2
    assert "support.yaml:2:5: item #1 has no id" in result.output
    assert "support.yaml:3:5: id 'x y' has characters outside" in result.output


def test_runs_list_and_show(support_project: ProjectDir) -> None:
    assert "no runs yet" in invoke(support_project, "runs", "list").output
    invoke(support_project, "run", "support")
    run_id = only_run(support_project).name
    listed = invoke(support_project, "runs", "list", "support")
    assert run_id in listed.output and "has-answer 0.67" in listed.output
    commit = git(support_project.root, "rev-parse", "HEAD")[:8]
    assert commit in listed.output
    for ref in (run_id, run_id[:12], "latest", "support", str(only_run(support_project))):
        shown = invoke(support_project, "runs", "show", ref)
        assert shown.exit_code == 0 and run_id in shown.output and "unknown-topic" in shown.output, ref
    as_json = json.loads(invoke(support_project, "runs", "show", run_id, "--json").output)
    assert as_json["manifest"]["id"] == run_id and len(as_json["results"]) == 3
    missing = invoke(support_project, "runs", "show", "nope")
    assert missing.exit_code == 2 and "no run 'nope'" in missing.output


def test_dataset_commands(support_project: ProjectDir) -> None:
    listed = invoke(support_project, "dataset", "list")
    assert "support" in listed.output and "billing, general" in listed.output
    shown = invoke(support_project, "dataset", "show", "support", "--tag", "general")
    assert "opening-hours" in shown.output and "refund-window" not in shown.output
    lines = invoke(support_project, "dataset", "show", "support", "--json").output.splitlines()
    assert json.loads(lines[0])["id"] == "refund-window" and len(json.loads(lines[0])["hash"]) == 64
    ok = invoke(support_project, "dataset", "validate")
    assert ok.exit_code == 0 and "ok support: 3 items" in ok.output
    support_project.write("datasets/broken.yaml", "items:\n  - {id: a}\n")
    bad = invoke(support_project, "dataset", "validate")
    assert bad.exit_code == 2 and "broken.yaml:2:5: missing required key 'input'" in bad.output
    assert "invalid" in invoke(support_project, "dataset", "list").output


def test_project_root_is_found_from_a_subfolder(support_project: ProjectDir) -> None:
    sub = support_project.root / "deep" / "er"
    sub.mkdir(parents=True)
    done = subprocess.run([EXE, "dataset", "list"], cwd=sub, capture_output=True, text=True)
    assert done.returncode == 0 and "support" in done.stdout


def test_unknown_command_suggests() -> None:
    result = CliRunner().invoke(cli, ["runn"])
    assert result.exit_code == 2 and "did you mean 'run' or 'runs'?" in result.output


def test_plain_progress_lines_in_ci(support_project: ProjectDir) -> None:
    done = subprocess.run(
        [EXE, "run", "support"], cwd=support_project.root, capture_output=True, text=True, env={**os.environ, "CI": "true"}
    )
    assert done.returncode == 0
    assert "[3/3] 2 passed, 1 failed, 0 errors" in done.stdout
    assert "\x1b[" not in done.stdout  # no terminal escapes in logs


def test_a_run_without_scorers_asks_for_review(project: ProjectDir) -> None:
    project.write("agent_mod.py", "def run(x):\n    return x\n")
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: x}\n  - {id: b, input: y}\n")
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:run\n")
    result = invoke(project, "run", "e")
    assert result.exit_code == 0
    assert "[2/2] 0 passed, 0 failed, 0 errors, 2 to review" in result.output
    assert "2 results have no scorer and need review: gitevals review " in result.output


def test_a_python_target_s_exception_keeps_where_it_was_raised(project: ProjectDir) -> None:
    project.write("flaky_agent.py", "def _lookup(order):\n    raise KeyError(order)\n\n\n"
                  "def answer(question):\n    return _lookup(question)\n")
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: A1002, expected: x}\n")
    project.write("evals/e.yaml", "dataset: d\ntarget: flaky_agent:answer\nscorers: [exact_match]\n")
    assert invoke(project, "run", "e").exit_code == 1
    [record] = [json.loads(line) for line in (only_run(project, "e") / "results.jsonl").read_text().splitlines()]
    error = record["error"]
    assert error["type"] == "KeyError" and error["where"].endswith("flaky_agent.py:2 in _lookup")
    assert error["traceback"].endswith("KeyError: 'A1002'") and "return _lookup(question)" in error["traceback"]
    shown = invoke(project, "runs", "show", "latest")
    assert "  at flaky_agent.py:2 in _lookup" in shown.output  # relative to the project


def test_dataset_show_streams_to_a_pipe_and_takes_a_limit(project: ProjectDir) -> None:
    import shutil
    import sys
    import time
    from pathlib import Path

    exe = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"
    project.write("datasets/big.yaml", "items:\n" + "".join(f"  - {{id: q{n:05d}, input: question {n}, context: {{tags: [t{n % 3}]}}}}\n"
                                                           for n in range(10_000)))
    project.git_init()
    project.commit()
    assert subprocess.run([exe, "dataset", "validate", "big"], cwd=project.root, capture_output=True).returncode == 0
    started = time.perf_counter()
    head = subprocess.run(f"'{exe}' dataset show big | head -4", shell=True, cwd=project.root, capture_output=True,
                          text=True, timeout=60)
    first_lines_s = time.perf_counter() - started
    assert "big: 10000 items" in head.stdout and "q00000" in head.stdout and "Traceback" not in head.stderr, head
    whole = subprocess.run([exe, "dataset", "show", "big"], cwd=project.root, capture_output=True, text=True, timeout=60)
    assert whole.returncode == 0 and "q09999" in whole.stdout and whole.stdout.count(" q0") >= 10_000
    assert whole.stdout.count("input") == 1  # one header over every chunk of rows
    assert first_lines_s < 0.6 * (time.perf_counter() - started), "head waited for the whole table"
    limited = invoke(project, "dataset", "show", "big", "--limit", "5", "--tag", "t1")
    assert "big: 3333 items (the first 5)" in limited.output and "q00001" in limited.output
    assert "q00016" not in limited.output  # the sixth item tagged t1 is past the limit
    assert len(invoke(project, "dataset", "show", "big", "--json", "--limit", "3").output.splitlines()) == 3
