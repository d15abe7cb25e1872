"""What the CLI says: one error per real problem, items by id, run refs, gate
lines, plurals, help texts and the README's command list."""

from __future__ import annotations

import json
import re
import subprocess
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

from gitevals._util.words import gate_text, plural
from gitevals.cli import cli
from gitevals.report.text import render_items
from tests.cli.test_cli import EXE, invoke
from tests.conftest import ProjectDir

README = Path(__file__).resolve().parents[2] / "README.md"


def run_cli(project: ProjectDir, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, "-C", str(project.root), *args], capture_output=True, text=True)


def problems_in(stderr: str) -> list[str]:
    """The `path:line:col: message` lines of an error, without their hints."""
    return [re.sub(r"^(error: |- )", "", line) for line in stderr.splitlines() if re.match(r"^(error: |- )?/.*:\d+:\d+: ", line)]


# --- 1. scorer and target mappings: one error per real problem ---------------------------


@pytest.mark.parametrize(
    ("scorers", "expected"),
    [
        ("[{type: contains, substring: x}]", ["4:22: scorer 'contains' has no option 'substring'"]),
        ("[{type: containz, value: x}]", ["4:5: unknown scorer 'containz'"]),
        ("[{type: contains, threshold: 2}]", ["4:22: scorers[0].threshold: must be at most 1, found 2"]),
        ("[{typ: contains}]", ["4:5: missing required key 'type' in scorers[0]"]),
        ("[3]", ["4:5: scorers[0]: expected a string or a mapping, found a number"]),
        ("exact_match", ["3:1: scorers: expected a list or a mapping, found a string"]),
        ("{agent: [contains], trajectori: [tool_call_accuracy]}", ["3:30: unknown key 'trajectori' in scorers"]),
        ("{workflow: [contains], steps: {a: [{type: regex, patern: x}]}}",
         ["3:59: scorer 'regex' has no option 'patern'"]),
    ],
)
def test_a_mistyped_scorer_gets_one_error_for_its_own_type(support_project: ProjectDir, scorers: str,
                                                          expected: list[str]) -> None:
    body = f"scorers:\n  - {scorers[1:-1]}\n" if scorers.startswith("[") else f"scorers: {scorers}\n"
    support_project.write("evals/typo.yaml", "dataset: support\ntarget: support_agent:answer\n" + body)
    done = run_cli(support_project, "run", "typo")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    path = support_project.root / "evals/typo.yaml"
    assert problems_in(done.stderr) == [f"{path}:{e}" for e in expected], done.stderr
    # none of pydantic's union noise: other members' errors, labels, its wording
    for noise in ("AgentScorerConfig", "WorkflowScorerConfig", "union[", "Input should", "valid dictionary"):
        assert noise not in done.stderr, done.stderr
    assert "hint: " in done.stderr


def test_scorer_typos_name_the_fix(support_project: ProjectDir) -> None:
    support_project.write("evals/typo.yaml", "dataset: support\ntarget: support_agent:answer\nscorers:\n"
                          "  - {type: containz, value: x}\n  - {typ: contains}\n  - {type: contains, vaule: x}\n")
    done = run_cli(support_project, "run", "typo")
    # a scorer the model refuses does not hide the problems of the others
    assert done.stderr.startswith("error: 3 problems:"), done.stderr
    assert "unknown scorer 'containz'\n    hint: did you mean 'contains'?" in done.stderr
    assert "hint: did you mean `type:` rather than `typ:`?" in done.stderr
    assert "scorer 'contains' has no option 'vaule'\n    hint: did you mean 'value'?" in done.stderr


@pytest.mark.parametrize(
    ("target", "expected", "hint"),
    [
        ("{type: pythn, ref: a}", "2:1: target: unknown type 'pythn'", "did you mean 'python'?"),
        ("{type: command, comand: [sh]}", "2:25: unknown key 'comand' in target", "did you mean 'command'? it is required"),
        ("{ref: 'support_agent:answer'}", "2:1: target: no `type:`", "add `type:`, one of: python, command"),
        ("3", "2:1: target: expected a string or a mapping, found a number", "target: `module:attr`"),
    ],
)
def test_a_mistyped_target_gets_one_error(support_project: ProjectDir, target: str, expected: str, hint: str) -> None:
    support_project.write("evals/t.yaml", f"dataset: support\ntarget: {target}\n")
    done = run_cli(support_project, "run", "t")
    assert problems_in(done.stderr) == [f"{support_project.root / 'evals/t.yaml'}:{expected}"], done.stderr
    assert f"hint: {hint}" in done.stderr


# --- 2. every problem of an eval file at once ---------------------------------------------


def test_an_eval_file_reports_all_its_problems_at_once(support_project: ProjectDir) -> None:
    support_project.write(
        "evals/bad.yaml",
        """
        dataset: suport
        target: support_agent:answr
        concurency: 3
        trials: 0
        scorers:
          - exact_mach
          - {type: regex, patern: x}
        thresholds: {exact_match: 2}
        """,
    )
    done = run_cli(support_project, "run", "bad")
    assert done.returncode == 2 and done.stderr.startswith("error: 7 problems:"), done.stderr
    lines = [int(p.split(":")[1]) for p in problems_in(done.stderr)]
    assert lines == [1, 2, 3, 4, 6, 7, 8]  # the model's problems and the rest's, in the file's order
    for words in ("no dataset named 'suport'", "has no attribute 'answr'", "unknown key 'concurency'",
                  "trials: must be at least 1, found 0", "unknown scorer 'exact_mach'", "no option 'patern'",
                  "thresholds.exact_match: must be at most 1, found 2"):
        assert words in done.stderr, (words, done.stderr)


# --- 3. items by id and 1-based position ------------------------------------------------


def test_items_are_named_by_id_and_position_never_a_0_based_index(project: ProjectDir) -> None:
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: x}\n  - {input: y, expectd: z}\n"
                  "  - {id: c, input: z, context: 3}\n")
    done = invoke(project, "dataset", "validate", "d")
    assert done.exit_code == 2
    assert "d.yaml:3:5: item #2 has no id" in done.output
    assert "d.yaml:3:16: unknown key 'expectd' in item #2" in done.output
    assert "d.yaml:4:23: context of item 'c' (#3): expected a mapping, found a number" in done.output
    assert "items[" not in done.output


def test_trials_are_counted_from_1() -> None:
    record = {"item_id": "a", "trial": 1, "error": None, "scores": {"x": {"value": 0.0, "passed": False}}}
    buffer = StringIO()
    Console(file=buffer, width=100).print(render_items([record], trials=3))
    assert buffer.getvalue().strip() == "a (failed 1 of 3 trials, first: trial 2) x 0.00"
    buffer = StringIO()
    Console(file=buffer, width=100).print(render_items([{**record, "trial": 0}]))
    assert buffer.getvalue().strip() == "a x 0.00"  # one trial: no trial named


def test_a_run_with_trials_shows_pass_at_k_and_each_failing_item_once(support_project: ProjectDir) -> None:
    done = run_cli(support_project, "run", "support", "--trials", "3")
    assert done.returncode == 0, done.stderr
    def cells(start: str) -> list[str]:
        line = next(line for line in done.stdout.splitlines() if line.lstrip().startswith(start))
        return [cell.strip() for cell in re.split(r"[┃│]", line)]

    assert cells("scorer")[-3:] == ["pass@3", "pass^3", "trial spread"]
    assert cells("has-answer")[-3:] == ["67%", "67%", "0.000"]  # 2 of 3 items pass, every trial alike
    assert "unknown-topic (failed 3 of 3 trials, first: trial 1) has-answer 0.00" in done.stdout, done.stdout
    assert done.stdout.count("unknown-topic") == 1 and "trial 2 of 3" not in done.stdout
    shown = run_cli(support_project, "runs", "show", "latest")
    assert "pass@3" in shown.stdout and shown.stdout.count("unknown-topic (failed 3 of 3 trials") == 1
    once = run_cli(support_project, "run", "support")
    assert "pass@" not in once.stdout and "trial spread" not in once.stdout
    assert "unknown-topic has-answer 0.00" in once.stdout, once.stdout


# --- 4. run refs --------------------------------------------------------------------------


@pytest.fixture
def four_runs(support_project: ProjectDir) -> tuple[ProjectDir, list[str]]:
    """Three runs of `support`, then one of `other`; their ids, oldest first."""
    support_project.write("evals/other.yaml", "dataset: support\ntarget: support_agent:answer\nscorers: [contains]\n")
    for name in ("support", "support", "support", "other"):
        assert invoke(support_project, "run", name).exit_code in (0, 1)
    ids = [json.loads(line)["id"] for line in invoke(support_project, "runs", "list", "--json").output.splitlines()]
    return support_project, ids


def test_runs_are_named_by_a_unique_end_or_start_or_latest_n(four_runs: tuple[ProjectDir, list[str]]) -> None:
    project, ids = four_runs
    for ref, wanted in ((ids[1].rpartition("-")[2], ids[1]), (ids[2][:-2], ids[2]), ("latest", ids[3]),
                        ("latest~1", ids[2]), ("latest~3", ids[0]), ("support", ids[2]), ("support~2", ids[0])):
        shown = invoke(project, "runs", "show", ref)
        assert shown.exit_code == 0 and shown.output.startswith(wanted), (ref, shown.output)


def test_an_ambiguous_or_unknown_run_says_which_match_and_how_to_list_them(four_runs: tuple[ProjectDir, list[str]]) -> None:
    project, ids = four_runs
    common = ids[0][:2]
    many = invoke(project, "runs", "show", common)
    assert many.exit_code == 2
    assert f"error: '{common}' matches 4 runs: {ids[0]} (support), " in many.output
    assert "hint: give more of the run id, or `latest`; see them with `gitevals runs list`" in many.output
    too_far = invoke(project, "runs", "show", "support~3")
    assert "no run 'support~3': there are only 3 runs of eval 'support'" in too_far.output
    assert "list them with `gitevals runs list support`" in too_far.output
    nope = invoke(project, "runs", "show", "nope")
    assert nope.exit_code == 2 and "error: no run 'nope'" in nope.output
    assert "`latest` or `latest~N`; list them with `gitevals runs list [EVAL]`" in nope.output


def test_latest_in_run_options_counts_the_eval_s_own_runs(four_runs: tuple[ProjectDir, list[str]]) -> None:
    project, ids = four_runs
    assert invoke(project, "run", "support", "--only-failed", "latest").exit_code in (0, 1)
    newest = json.loads(invoke(project, "runs", "show", "latest", "--json").output)["manifest"]
    assert newest["only_failed_from"] == ids[2]  # support's newest, not `other`'s


# --- 5. gate lines ------------------------------------------------------------------------


def test_gate_lines_read_plainly_and_alike_everywhere(support_project: ProjectDir, tmp_path: Path) -> None:
    support_project.write(
        "evals/gated.yaml",
        "dataset: support\ntarget: support_agent:answer\nscorers: [{type: contains, name: has-answer}]\n"
        "thresholds: {has-answer: {mean: 0.7, pass_rate: 0.6}}\n",
    )
    markdown = tmp_path / "report.md"
    ran = invoke(support_project, "run", "gated", "--markdown", str(markdown))
    assert ran.exit_code == 1
    lines = ["FAIL  has-answer  mean 0.67, needs >= 0.70", "pass  has-answer  pass rate 0.67, needs >= 0.60"]
    assert "\n".join(lines) in ran.output
    assert "\n".join(lines) in invoke(support_project, "runs", "show", "gated").output
    assert "- ❌ **FAIL** `has-answer` mean 0.67, needs >= 0.70" in markdown.read_text()
    html = tmp_path / "report.html"
    assert invoke(support_project, "report", "gated", "--html", str(html)).exit_code == 0
    assert "<code>has-answer</code> mean 0.67, needs &gt;= 0.70" in html.read_text()


def test_a_value_just_below_its_threshold_never_prints_equal_to_it() -> None:
    def gate(actual: float | None, metric: str = "mean") -> str:
        return gate_text(SimpleNamespace(scorer="s", metric=metric, threshold=0.7, actual=actual,
                                         passed=actual is not None and actual >= 0.7))

    assert gate(0.69996) == "FAIL  s  mean 0.69996, needs >= 0.70"
    assert gate(0.7) == "pass  s  mean 0.70, needs >= 0.70"
    assert gate(None, "pass_rate") == "FAIL  s  pass rate: no scores, needs >= 0.70"


# --- 6. plurals -----------------------------------------------------------------------------


def test_one_is_singular() -> None:
    assert [plural(n, "item") for n in (0, 1, 2)] == ["0 items", "1 item", "2 items"]
    assert plural(1, "entry", "entries") == "1 entry" and plural(3, "entry", "entries") == "3 entries"


def test_a_one_item_run_says_item_and_error(project: ProjectDir) -> None:
    project.write("agent_mod.py", "def broken(x):\n    raise RuntimeError('down')\n")
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: x}\n")
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:broken\nscorers: [exact_match]\n")
    result = invoke(project, "run", "e")
    assert "e: 1 item from dataset d" in result.output
    assert "[1/1] 0 passed, 0 failed, 1 error" in result.output
    assert "1 item: 0 completed, 1 target error," in result.output
    assert not re.search(r"\b1 (items|errors|target errors|results)\b", result.output), result.output
    assert "ok d: 1 item\n" in invoke(project, "dataset", "validate", "d").output


# --- 7. help --------------------------------------------------------------------------------


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append(((*path, name), command))
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
    return found


def test_every_command_lists_with_a_whole_first_line_and_every_option_has_help() -> None:
    for path, command in _commands(cli):
        first = command.get_short_help_str(limit=200)
        assert first and len(first) <= 70 and not first.endswith("..."), (path, first)
        for param in command.params:
            if isinstance(param, click.Option) and "--help" not in param.opts:
                assert param.help, (path, param.opts)
    for group in ([], ["dataset"], ["runs"]):
        listing = CliRunner().invoke(cli, [*group, "--help"]).output.split("Commands:")[1]
        assert "..." not in listing, listing


def test_dataset_help_says_what_each_subcommand_does() -> None:
    listing = CliRunner().invoke(cli, ["dataset", "--help"]).output
    for line in ("add       Add one item to dataset NAME.", "import    Import a CSV, TSV, JSONL or JSON file into dataset NAME.",
                 "validate  Check dataset NAME, or every dataset, for problems.", "history   List the commits that changed"):
        assert line in listing, listing
    assert "Examples:\n    gitevals dataset add support-qa" in CliRunner().invoke(cli, ["dataset", "add", "--help"]).output


# --- 8. the README's command list ------------------------------------------------------------


def test_the_readme_command_list_matches_the_cli() -> None:
    block = README.read_text(encoding="utf-8").split("## Command line", 1)[1].split("```")[1]
    every_option = set()
    for path, command in _commands(cli):
        assert re.search(rf"\b{path[-1]}\b", block), f"`gitevals {' '.join(path)}` is not in the README"
        for param in command.params:
            if isinstance(param, click.Option) and "--help" not in param.opts:
                names = [*param.opts, *param.secondary_opts]
                every_option.update(names)
                assert any(re.search(re.escape(o) + r"\b", block) for o in names), (path, names)
    for written in set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", block)):
        assert written in every_option | {"--version"}, f"the README lists {written}, which no command takes"
    assert "[--eval EVAL]" in block.split("gitevals compare", 1)[1].split("\n")[0]


# --- 9. runs list: the `*` explained --------------------------------------------------------------


def test_runs_list_explains_its_star(support_project: ProjectDir) -> None:
    invoke(support_project, "run", "support")
    clean = invoke(support_project, "runs", "list").output
    assert "*" not in clean and "uncommitted" not in clean
    dataset = support_project.root / "datasets/support.yaml"
    dataset.write_text(dataset.read_text() + "  - {id: extra, input: 'hours?', expected: '9 to 5'}\n")
    invoke(support_project, "run", "support")
    listed = invoke(support_project, "runs", "list").output
    assert re.search(r"[0-9a-f]{8}\* ", listed)
    assert "* made with uncommitted changes to what the run depends on (`gitevals runs show RUN` lists them)" in listed


# --- 10. RUN in usage -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["runs", "show"], ["score"], ["review"], ["report"], ["runs", "merge"]])
def test_a_missing_run_says_what_a_run_can_be(support_project: ProjectDir, command: list[str]) -> None:
    done = invoke(support_project, *command)
    assert done.exit_code == 2
    assert "Missing argument 'RUN" in done.output and "RUN is a run id or a unique start or end of one" in done.output
    assert "`latest` or `latest~N`" in done.output and "EVAL@REF" in done.output
    help_text = invoke(support_project, *command, "--help").output
    assert "RUN is a run id or a unique start or end of one" in help_text


# --- 11. score names scorers as run does -------------------------------------------------------------


TOOL_AGENT = """
from gitevals import trace

@trace.tool
def lookup(q):
    return q

def answer(q):
    lookup(q)
    return q
"""


def test_score_names_scorers_as_run_does(project: ProjectDir) -> None:
    project.write("tool_agent.py", TOOL_AGENT)
    project.write("datasets/d.yaml", "items:\n  - id: a\n    input: x\n    expected: x\n"
                  "    expected_trajectory: {steps: [{type: tool_call, name: lookup}]}\n")
    project.write("evals/e.yaml", "dataset: d\ntarget: tool_agent:answer\n"
                  "scorers: {agent: [exact_match], trajectory: [{type: tool_call_accuracy, name: calls}]}\n")
    ran = invoke(project, "run", "e")
    assert ran.exit_code == 0 and " trajectory.calls " in ran.output
    again = invoke(project, "score", "latest", "--replace")
    assert again.output.startswith("exact_match, trajectory.calls on runs/e/"), again.output
    assert " trajectory.calls " in again.output
    added = invoke(project, "score", "latest", "--scorer", "{trajectory: [{type: trajectory_accuracy, name: path}]}")
    assert added.exit_code == 0 and added.output.startswith("trajectory.path on runs/e/"), added.output
    [record] = json.loads(invoke(project, "runs", "show", "latest", "--json").output)["results"]
    assert sorted(record["scores"]) == ["exact_match", "trajectory.calls", "trajectory.path"]


def test_without_thresholds_every_item_must_pass_unless_no_fail(support_project: ProjectDir) -> None:
    support_project.write("evals/loose.yaml", "dataset: support\ntarget: support_agent:answer\n"
                          "scorers: [{type: contains, name: has-answer}]\n")
    loose = run_cli(support_project, "run", "loose")  # unknown-topic fails has-answer
    words = " ".join(loose.stdout.split())
    assert loose.returncode == 1, loose.stdout + loose.stderr
    assert "FAIL all items 1 failed, needs 0 (no thresholds set, so every item must pass)" in words
    assert ("note: evals/loose.yaml sets no thresholds, so every item must pass; "
            "add e.g. `thresholds: {has-answer: 0.8}` to gate on the mean instead") in words
    recorded = run_cli(support_project, "run", "loose", "--no-fail")
    assert recorded.returncode == 0 and "FAIL all items" in " ".join(recorded.stdout.split())
    assert "--no-fail to record only" not in recorded.stdout
    shown = run_cli(support_project, "runs", "show", "latest")  # the gate is recorded with the run
    assert "FAIL  all items  1 failed" in shown.stdout
    gated = run_cli(support_project, "run", "support")  # thresholds: {has-answer: 0.5} tolerate the one failure
    assert gated.returncode == 0 and "all items" not in gated.stdout and "sets no thresholds" not in gated.stdout
    support_project.write("evals/loose.yaml", "dataset: support\ntarget: support_agent:answer\n"
                          "scorers: [{type: contains, name: has-answer}]\ntags: [general]\n")
    passing = run_cli(support_project, "run", "loose")  # opening-hours alone passes
    assert passing.returncode == 0 and "pass  all items  0 failed" in passing.stdout, passing.stdout


def test_a_scorer_broken_on_every_item_fails_the_run_though_no_threshold_names_it(support_project: ProjectDir) -> None:
    support_project.write("broken_scorer.py", "def judge(sample):\n    raise RuntimeError('judge model unreachable')\n")
    support_project.write("evals/judged.yaml", "dataset: support\ntarget: support_agent:answer\n"
                          "scorers: [{type: contains, name: has-answer}, 'broken_scorer:judge']\n"
                          "thresholds: {has-answer: 0.5}\n")
    judged = run_cli(support_project, "run", "judged")
    words = " ".join(judged.stdout.split())
    assert judged.returncode == 1, judged.stdout + judged.stderr
    assert "FAIL judge errors 3, needs <= 0 (allow some with allowed_errors)" in words
    assert "pass has-answer mean 0.67, needs >= 0.50" in words
    assert "3 items: 3 completed, 0 target errors, 3 scorer errors" in words
    support_project.write("evals/judged.yaml", "dataset: support\ntarget: support_agent:answer\n"
                          "scorers: [{type: contains, name: has-answer}, 'broken_scorer:judge']\n"
                          "thresholds: {has-answer: 0.5}\nallowed_errors: 100%\n")
    allowed = run_cli(support_project, "run", "judged")
    assert allowed.returncode == 0 and "pass judge errors 3, needs <= 3" in " ".join(allowed.stdout.split())


def test_validate_says_a_run_refuses_a_dataset_without_items(support_project: ProjectDir) -> None:
    support_project.write("datasets/empty.yaml", "items: []\n")
    checked = run_cli(support_project, "dataset", "validate")
    assert checked.returncode == 0, checked.stderr
    lines = {line.split(":")[0]: line for line in checked.stdout.splitlines()}
    assert lines["ok empty"] == "ok empty: 0 items (a run refuses a dataset without items: add some)"
    assert lines["ok support"] == "ok support: 3 items"
    support_project.write("evals/empty.yaml", "dataset: empty\ntarget: support_agent:answer\n")
    refused = run_cli(support_project, "run", "empty")
    assert refused.returncode == 2 and "has no items" in refused.stderr
