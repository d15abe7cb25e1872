"""CI use: gates on the baseline comparison, JUnit, markdown, the job summary,
the GitHub workflow of the example, and the pytest plugin."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import click
import xmlschema
from ruamel.yaml import YAML

from gitevals.cli import cli
from gitevals.runs import list_runs
from tests.conftest import ProjectDir, invoke

REPO = Path(__file__).resolve().parents[2]
JUNIT_XSD = xmlschema.XMLSchema(str(REPO / "tests" / "data" / "junit.xsd"))

AGENT = '''
import pathlib

def answer(question):
    if question == "boom":
        raise RuntimeError("model down <&>")
    wrong = pathlib.Path(__file__).with_name("wrong.txt").read_text().split()
    return "nope" if question in wrong else question.upper()
'''


def make(project: ProjectDir, gate: str = "") -> None:
    project.write("agent_mod.py", AGENT)
    project.write("wrong.txt", "")
    items = "".join(f"  - {{id: q{n}, input: q{n}, expected: Q{n}}}\n" for n in range(10))
    project.write("datasets/d.yaml", "items:\n" + items + "  - {id: err, input: boom}\n")
    project.write("evals/e.yaml", f"dataset: d\ntarget: agent_mod:answer\nscorers: [exact_match]\n{gate}")
    project.git_init()
    project.commit()



def test_junit_is_valid_and_names_items_failures_and_errors(project: ProjectDir, tmp_path: Path) -> None:
    make(project)
    (project.root / "wrong.txt").write_text("q3")
    out = tmp_path / "junit.xml"
    result = invoke(project, "run", "e", "--junit", str(out))
    assert result.exit_code == 1, result.output  # no thresholds: the failing q3 and err fail the run
    assert "FAIL  all items  2 failed, needs 0" in result.output
    JUNIT_XSD.validate(str(out))
    root = ET.parse(out).getroot()
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "e"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("11", "1", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {f"q{n}" for n in range(10)} | {"err"}
    failure = cases["q3"].find("failure")
    assert failure is not None and "exact_match = 0.0" in failure.get("message", "")
    assert "output: nope" in (failure.text or "") and "input: q3" in (failure.text or "")
    error = cases["err"].find("error")
    assert error is not None and error.get("type") == "RuntimeError" and error.get("message") == "model down <&>"
    assert cases["q1"].find("failure") is None and cases["q1"].get("classname") == "gitevals.e"


def test_markdown_and_github_step_summary(project: ProjectDir, tmp_path: Path) -> None:
    make(project)
    report, summary = tmp_path / "report.md", tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    result = invoke(project, "run", "e", "--markdown", str(report), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 1  # err fails the only gate: every item must pass
    text = report.read_text()
    assert text.startswith("## ❌ gitevals: e\n") and "- ❌ **FAIL** `all items` 1 failed, needs 0" in text
    assert "| exact_match | 1.000 |" in text
    assert "<details><summary>1 failing item</summary>" in text and "error: model down <&>" in text
    assert summary.read_text() == "earlier step\n" + text + "\n"  # appended, never replaced


def test_eval_gates_on_the_baseline_comparison(project: ProjectDir) -> None:
    make(project, gate="gate: {max_regressions: 1}\n")
    assert invoke(project, "run", "e").exit_code == 1  # without a baseline, err fails the every-item gate
    assert invoke(project, "run", "e", "--no-fail").exit_code == 0
    project.commit("baseline run made")
    (project.root / "wrong.txt").write_text("q1")
    one = invoke(project, "run", "e", "--baseline", "HEAD")
    assert one.exit_code == 1 and "pass  all scorers  regressed items 1, needs <= 1" in one.output
    assert "all items" not in one.output  # the comparison's gate replaced the every-item gate
    assert one.output.count("regressed items 1, needs <= 1") == 1  # shown once, with the other gates
    # but an error still fails the run, unless the eval allows it
    assert "FAIL  target  errors 1, needs <= 0 (allow some with allowed_errors)" in one.output
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:answer\nscorers: [exact_match]\n"
                  "gate: {max_regressions: 1}\nallowed_errors: 1\n")
    allowed = invoke(project, "run", "e", "--baseline", "HEAD")
    assert allowed.exit_code == 0 and "pass  target  errors 1, needs <= 1" in allowed.output
    (project.root / "wrong.txt").write_text("q1 q2 q3 q4 q5 q6 q7")
    many = invoke(project, "run", "e", "--baseline", "HEAD")  # the baseline is the newest run at HEAD: q1 already wrong
    assert many.exit_code == 1 and "FAIL  all scorers  regressed items 6, needs <= 1" in many.output
    run = max(list_runs(project.root / "runs", "e"), key=lambda r: r.manifest.started_at)
    assert [g.metric for g in run.manifest.gates if not g.passed] == ["regressed_items"]
    # scoring the run again keeps the gates of its comparison with the baseline
    assert invoke(project, "score", run.id, "--scorer", "{type: contains, name: upper, value: Q}").exit_code == 1
    rescored = next(r for r in list_runs(project.root / "runs", "e") if r.id == run.id)
    assert [g.metric for g in rescored.manifest.gates] == ["regressed_items", "errors"]
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:answer\nscorers: [exact_match]\ngate: {fail_on_regression: true}\n")
    verdict = invoke(project, "run", "e", "--baseline", "HEAD~1")  # the clean first run
    assert verdict.exit_code == 1 and "FAIL  exact_match  regressed against the baseline, needs no regression" in verdict.output


def test_the_python_api_gets_the_baseline_gates_and_the_failed_items(project: ProjectDir) -> None:
    # The same gates as `run --baseline` and the same items as `--only-failed`,
    # without the CLI: the pytest plugin and the web UI plan and run this way.
    from gitevals.engine import Baseline, plan_eval, run_eval
    from gitevals.project import find_project

    make(project, gate="gate: {max_regressions: 0}\n")
    gitevals_project = find_project(project.root)
    first = run_eval(gitevals_project, plan_eval(gitevals_project, "e"))
    project.commit("baseline run made")
    (project.root / "wrong.txt").write_text("q1 q2")
    second = run_eval(gitevals_project, plan_eval(gitevals_project, "e"), baseline=Baseline("HEAD"))
    assert second.baseline is not None and second.baseline.comparison is not None
    assert [(g.metric, g.actual, g.passed) for g in second.manifest.gates if g.scorer == "*"] == [("regressed_items", 2, False),
                                                                                           ("errors", 1, False)]
    assert not second.passed
    retry = plan_eval(gitevals_project, "e", only_failed_from="latest")
    assert [item.id for item in retry.dataset.items] == ["q1", "q2", "err"]
    assert retry.only_failed_from == second.manifest.id != first.manifest.id


def _commands(script: str) -> list[list[str]]:
    """The gitevals command lines of a shell script (continuations joined)."""
    joined = script.replace("\\\n", " ")
    return [shlex.split(line.strip()) for line in joined.splitlines() if line.strip().startswith("gitevals ")]


def test_the_example_workflow_parses_and_its_commands_exist() -> None:
    workflow = YAML(typ="safe").load((REPO / "example-evals/.github/workflows/evals.yml").read_text())
    assert "pull_request" in workflow["on"]
    steps = workflow["jobs"]["evals"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0  # baselines need history
    commands = [c for step in steps if "run" in step for c in _commands(step["run"])]
    assert commands, "the workflow runs gitevals"
    for argv in commands:
        command: click.Command = cli
        args = argv[1:]
        while isinstance(command, click.Group):
            command = command.commands[args.pop(0)]
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for arg in args:
            if arg.startswith("--"):
                assert arg in known, f"{' '.join(argv)}: {command.name} has no option {arg}"
    uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    assert uploads and "runs/" in uploads[0]["with"]["path"]
    comment = [s for s in steps if s.get("uses", "").startswith("actions/github-script")]
    assert comment and "updateComment" in comment[0]["with"]["script"]


def _pytest(project: ProjectDir, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200"}  # summary lines unshortened
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:langsmith_plugin", "-q", *args],
                          cwd=project.root, capture_output=True, text=True, env=env)


def test_pytest_plugin_gates_on_the_baseline(project: ProjectDir) -> None:
    make(project, gate="gate: {max_regressions: 0}\n")
    assert invoke(project, "run", "e", "--no-fail").exit_code == 0
    project.commit("baseline run made")
    (project.root / "wrong.txt").write_text("q1")
    gated = _pytest(project, "--gitevals", "--gitevals-baseline", "HEAD", "-k", "not q1 and not err")
    assert gated.returncode == 1 and "gitevals gate: FAIL  all scorers  regressed items 1, needs <= 0" in gated.stdout
    plain = _pytest(project, "--gitevals", "-k", "not q1 and not err")  # without a baseline, no comparison gate
    assert plain.returncode == 0, plain.stdout + plain.stderr
    bad = _pytest(project, "--gitevals", "--gitevals-baseline", "nope")
    assert bad.returncode != 0 and "'nope' is not a commit" in bad.stdout  # before anything runs, no traceback
    assert "ERROR collecting evals/e.yaml" in bad.stdout and "check_ref" not in bad.stdout


def test_pytest_plugin_makes_each_item_a_test(project: ProjectDir) -> None:
    make(project)  # no thresholds: every item must pass, as for `gitevals run`
    (project.root / "wrong.txt").write_text("q3")
    done = _pytest(project, "--gitevals", "-rf")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 failed, 9 passed" in done.stdout
    # the short test summary says which scorer failed and why, not just `q3 failed:`
    assert "FAILED evals/e.yaml::q3 - q3 failed: exact_match 0.00: expected 'Q3', got 'nope'" in done.stdout
    assert "FAILED evals/e.yaml::err - err failed: target error: RuntimeError" in done.stdout
    [run] = list_runs(project.root / "runs", "e")
    assert run.manifest.status == "completed" and run.manifest.summary.total_items == 11
    assert invoke(project, "run", "e").exit_code == 1  # the CLI agrees
    assert _pytest(project, "--gitevals", "-k", "not q3 and not err").returncode == 0  # deselected, not counted
    # with thresholds the thresholds decide: the failing items are shown as xfailed; err's target
    # error fails the session unless the eval allows errors
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:answer\nscorers: [exact_match]\n"
                  "thresholds: {exact_match: 0.5}\n")
    erred = _pytest(project, "--gitevals")
    assert erred.returncode == 1 and "gitevals gate: FAIL  target  errors 1, needs <= 0" in erred.stdout
    assert invoke(project, "run", "e").exit_code == 1  # the CLI agrees
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:answer\nscorers: [exact_match]\n"
                  "thresholds: {exact_match: 0.5}\nallowed_errors: 1\n")
    tolerated = _pytest(project, "--gitevals", "-rx")
    assert tolerated.returncode == 0, tolerated.stdout
    assert "9 passed, 2 xfailed" in tolerated.stdout
    assert "XFAIL evals/e.yaml::q3 - exact_match 0.00: expected 'Q3', got 'nope'" in tolerated.stdout
    assert invoke(project, "run", "e").exit_code == 0  # the CLI agrees
    # every item passes, but the gate fails the session
    (project.root / "wrong.txt").write_text("")
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:answer\nscorers: [exact_match]\nthresholds: {exact_match: 0.99}\n")
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: a, expected: A}\n  - {id: b, input: b, expected: wrong}\n  - {id: c, input: c, expected: C}\n")
    gated = _pytest(project, "--gitevals", "e", "-k", "not b")
    assert "2 passed" in gated.stdout and gated.returncode == 1
    assert "gitevals gate: FAIL  exact_match  mean 0.67, needs >= 0.99" in gated.stdout
    assert _pytest(project).returncode == 5  # without --gitevals the plugin stays out of the way
