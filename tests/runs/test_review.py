"""Human review: the real `gitevals review` program driven in a terminal and through a pipe."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitevals.formats import ReviewLine, RunManifest
from gitevals.report.text import trajectory_summary
from gitevals.runs import human_score
from tests.conftest import ProjectDir, invoke

EXE = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"
REVIEWER = "Rita Reviewer"
# `git config user.name` as the program sees it, without touching any real git config
ENV = {**os.environ, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "user.name", "GIT_CONFIG_VALUE_0": REVIEWER}
ENV.pop("CI", None)



def run_eval(project: ProjectDir, eval_name: str) -> Path:
    before = set((project.root / "runs" / eval_name).glob("*")) if (project.root / "runs" / eval_name).exists() else set()
    invoke(project, "run", eval_name)
    [folder] = set((project.root / "runs" / eval_name).glob("*")) - before
    return folder


def review_pipe(project: ProjectDir, *args: str, keys: str) -> subprocess.CompletedProcess[str]:
    """`gitevals review ...` with `keys` on stdin as a pipe."""
    return subprocess.run([EXE, "-C", str(project.root), "review", *args], input=keys, env=ENV,
                          capture_output=True, text=True, timeout=60)


def row(output: str, first: str) -> list[str]:
    """The cells of the table row that starts with `first`."""
    found = next(line for line in output.splitlines() if line.strip().startswith(first))
    return [cell for cell in found.replace("│", " ").split()]


def lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "reviews.jsonl").read_text().splitlines()]


class Terminal:
    """A program on a pseudo-terminal: what it prints is read as it comes, lines are typed into it."""

    def __init__(self, args: list[str]) -> None:
        master, slave = os.openpty()
        self.process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=ENV, close_fds=True,
                                        start_new_session=True)
        os.close(slave)
        self.master = master
        self.output = ""
        self.seen = 0

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the program closed the terminal
            chunk = b""
        if not chunk:
            return False
        self.output += chunk.decode("utf-8", errors="replace")
        return True

    def expect(self, text: str, timeout: float = 30) -> None:
        """Wait until `text` is printed (after what earlier calls matched)."""
        deadline = time.monotonic() + timeout
        while text not in self.output[self.seen:]:
            if not self._read(deadline):
                raise AssertionError(f"{text!r} never came; the terminal shows:\n{self.output[self.seen:]}")
        self.seen = self.output.index(text, self.seen) + len(text)

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            pass
        code = self.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        os.close(self.master)
        return code


@pytest.fixture
def manual(support_project: ProjectDir) -> ProjectDir:
    """The support project with an eval that has no scorers: its results wait for a person."""
    support_project.write("evals/manual.yaml", "dataset: support\ntarget: support_agent:answer\n")
    support_project.commit("an eval judged by hand")
    return support_project


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_review_in_a_terminal_records_each_decision_and_resumes(manual: ProjectDir) -> None:
    folder = run_eval(manual, "manual")
    shown = invoke(manual, "runs", "show", folder.name)
    assert f"3 results need review (no scorer judged them): gitevals review {folder.name}" in shown.output

    term = Terminal([EXE, "-C", str(manual.root), "review", "manual"])
    term.expect("[1/3] opening-hours")
    term.expect("We are open 9 to 5.")  # the output, under a bold label
    term.expect("review> ")
    term.type("c friendly, but vague")
    term.expect("comment saved")
    # each decision is on disk before the next question is asked
    assert [(x["item_id"], x["verdict"], x["comment"]) for x in lines(folder)] == [
        ("opening-hours", None, "friendly, but vague")]
    term.type("p")
    term.expect("[2/3] refund-window")
    term.type("0.7")
    term.expect("[3/3] unknown-topic")
    term.expect("review> ")
    term.type("q")
    assert term.wait() == 0
    assert "1 result not judged yet (continue with: gitevals review" in term.output
    recorded = lines(folder)
    assert [(x["item_id"], x["trial"], x["verdict"], x["score"], x["comment"]) for x in recorded] == [
        ("opening-hours", 0, None, None, "friendly, but vague"),
        ("opening-hours", 0, "pass", None, "friendly, but vague"),
        ("refund-window", 0, None, 0.7, None),
    ]
    assert {x["reviewer"] for x in recorded} == {REVIEWER}
    for line in recorded:
        ReviewLine.model_validate(line)  # the file's format is the published schema

    # started again, it continues at the next result, and ends by itself after the last one
    again = Terminal([EXE, "-C", str(manual.root), "review", "manual"])
    again.expect("[1/1] unknown-topic")
    again.type("!")
    again.expect("flagged")
    again.type("f")
    assert again.wait() == 0
    assert "opening-hours" not in again.output and "0 results not judged yet" in again.output
    assert [(x["item_id"], x["verdict"], x["flagged"]) for x in lines(folder)[3:]] == [
        ("unknown-topic", None, True), ("unknown-topic", "fail", True)]
    summary = RunManifest.model_validate_json((folder / "run.json").read_text()).summary
    assert summary is not None and summary.scores["human"].mean == pytest.approx((1 + 0.7 + 0) / 3)
    assert summary.scores["human"].pass_rate == pytest.approx(2 / 3)


def test_a_later_review_supersedes_without_erasing(manual: ProjectDir) -> None:
    folder = run_eval(manual, "manual")
    first = review_pipe(manual, "manual", keys="c friendly\np\n0.7\n!\nf\n")
    assert first.returncode == 0, first.stderr
    assert len(lines(folder)) == 5
    # nothing is left unreviewed: the default session has nothing to do
    idle = review_pipe(manual, "manual", keys="")
    assert idle.returncode == 0 and "nothing to review" in idle.stdout
    # --only all walks everything again; opening-hours turns from pass to fail
    redo = review_pipe(manual, "manual", "--only", "all", keys="f\nq\n")
    assert redo.returncode == 0, redo.stderr
    assert "reviewed by Rita Reviewer: pass; comment: friendly" in redo.stdout
    recorded = lines(folder)
    assert len(recorded) == 6  # every earlier line is kept
    opening = [x for x in recorded if x["item_id"] == "opening-hours"]
    assert [x["verdict"] for x in opening] == [None, "pass", "fail"]
    assert opening[-1]["comment"] == "friendly"  # what was not changed carries over

    flagged = review_pipe(manual, "manual", "--only", "flagged", keys="q\n")
    assert "[1/1] unknown-topic" in flagged.stdout
    assert "reviewed by Rita Reviewer: fail; flagged" in flagged.stdout

    shown = invoke(manual, "runs", "show", folder.name)
    assert row(shown.output, "human")[1] == f"{0.7 / 3:.3f}"  # 0 (fail) + 0.7 + 0 (fail): the latest review wins
    assert "reviewed by hand: 3 of 3 results, 1 flagged" in shown.output
    assert "need review" not in shown.output
    assert "opening-hours" in shown.output and "friendly" in shown.output  # a failing human verdict and why
    raw = json.loads(invoke(manual, "runs", "show", folder.name, "--json").output)
    assert len(raw["reviews"]) == 6 and all("human" not in r["scores"] for r in raw["results"])


def test_skip_back_and_resume_after_the_last_decision(manual: ProjectDir) -> None:
    folder = run_eval(manual, "manual")
    done = review_pipe(manual, "manual", keys="s\np\nq\n")  # skip opening-hours, pass refund-window, quit
    assert done.returncode == 0
    assert [x["item_id"] for x in lines(folder)] == ["refund-window"]
    # the walk picks up after refund-window; the skipped result comes round at the end
    again = review_pipe(manual, "manual", keys="p\nb\nf\nq\n")
    out = again.stdout
    assert out.index("[1/2] unknown-topic") < out.index("[2/2] opening-hours")
    # `b` went back to unknown-topic, showing its review, and `f` replaced it
    assert out.count("[1/2] unknown-topic") == 2 and "reviewed by Rita Reviewer: pass" in out
    assert [(x["item_id"], x["verdict"]) for x in lines(folder)] == [
        ("refund-window", "pass"), ("unknown-topic", "pass"), ("unknown-topic", "fail")]
    first = review_pipe(manual, "manual", keys="b\nzz\n1.5\nq\n")
    assert "already at the first result" in first.stdout
    assert first.stdout.count("[p]ass  [f]ail") >= 3  # unknown keys and bad scores show the keys again
    assert len(lines(folder)) == 3


def test_compare_shows_the_human_scorer(manual: ProjectDir) -> None:
    run_a = run_eval(manual, "manual")
    assert review_pipe(manual, run_a.name, keys="p\nf\nf\n").returncode == 0
    run_b = run_eval(manual, "manual")
    assert review_pipe(manual, run_b.name, keys="p\np\np\n").returncode == 0
    text = invoke(manual, "compare")
    assert text.exit_code == 0, text.output
    assert row(text.output, "human")[1:5] == ["3", "0.333", "1.000", "+0.667"]
    data = json.loads(invoke(manual, "compare", run_a.name, run_b.name, "--format", "json").output)
    [human] = data["scorers"]
    assert human["name"] == "human" and human["improved"] == 2
    assert sorted(d["item_id"] for d in data["improvements"]) == ["refund-window", "unknown-topic"]
    # and the other way round, the fails are regressions
    back = json.loads(invoke(manual, "compare", run_b.name, run_a.name, "--format", "json").output)
    assert sorted(d["item_id"] for d in back["regressions"]) == ["refund-window", "unknown-topic"]


def test_only_failing_visits_results_a_scorer_failed(support_project: ProjectDir) -> None:
    folder = run_eval(support_project, "support")
    done = review_pipe(support_project, "support", "--only", "failing", "--reviewer", "Sam", keys="p\n")
    assert done.returncode == 0, done.stderr
    assert "[1/1] unknown-topic" in done.stdout and "has-answer: 0.00 FAIL — missing 'we accept'" in done.stdout
    [line] = lines(folder)
    assert (line["item_id"], line["verdict"], line["reviewer"]) == ("unknown-topic", "pass", "Sam")
    manifest = RunManifest.model_validate_json((folder / "run.json").read_text())
    assert manifest.summary is not None
    assert manifest.summary.scores["human"].n == 1 and manifest.summary.scores["human"].mean == 1.0
    assert manifest.summary.scores["has-answer"].mean == pytest.approx(2 / 3)  # the scorer's own verdict stands


def test_a_torn_last_line_is_cut_and_a_bad_line_is_located(manual: ProjectDir) -> None:
    folder = run_eval(manual, "manual")
    assert review_pipe(manual, "manual", keys="p\nq\n").returncode == 0
    with open(folder / "reviews.jsonl", "a") as handle:
        handle.write('{"item_id": "refund-window", "tri')  # killed mid-line
    assert "reviewed by hand: 1 of 3 results" in invoke(manual, "runs", "show", "manual").output
    assert review_pipe(manual, "manual", keys="f\nq\n").returncode == 0
    assert [(x["item_id"], x["verdict"]) for x in lines(folder)] == [("opening-hours", "pass"), ("refund-window", "fail")]

    (folder / "reviews.jsonl").write_text(lines_text := (folder / "reviews.jsonl").read_text() + '{"item_id": 3}\n')
    assert lines_text.count("\n") == 3
    done = subprocess.run([EXE, "-C", str(manual.root), "runs", "show", "manual"], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{folder / 'reviews.jsonl'}:3: not a valid review line" in done.stderr


def test_runs_from_git_history_and_failed_targets(manual: ProjectDir) -> None:
    done = review_pipe(manual, "manual@main", keys="")
    assert done.returncode == 2 and "names a run in git history" in done.stderr
    manual.write("evals/broken.yaml", "dataset: support\ntarget: support_agent:broken\n")
    invoke(manual, "run", "broken")
    idle = review_pipe(manual, "broken", keys="p\n")
    assert idle.returncode == 0 and "nothing to review" in idle.stdout
    assert not list((manual.root / "runs" / "broken").glob("*/reviews.jsonl"))


def test_human_score_from_a_review() -> None:
    def review(**fields: object) -> ReviewLine:
        return ReviewLine(item_id="a", time="2026-01-01T00:00:00+00:00", reviewer="R", **fields)  # type: ignore[arg-type]

    assert human_score(review(verdict="pass"))["value"] == 1.0
    assert (human_score(review(verdict="fail", comment="wrong")) or {}).get("reason") == "wrong"
    assert [human_score(review(score=s))["passed"] for s in (0.49, 0.5)] == [False, True]  # type: ignore[index]
    assert human_score(review(flagged=True, comment="look again")) is None  # no judgement: no score


def test_trajectory_summary_flattens_steps_in_order() -> None:
    steps = [{"type": "workflow_step", "name": "plan", "children": [{"type": "tool_call", "name": "lookup"}]},
             {"type": "tool_call", "name": "refund", "error": "RuntimeError: no"}]
    assert trajectory_summary(steps) == "3 steps: plan -> lookup -> refund (error)"
    assert trajectory_summary([{"type": "tool_call", "name": f"t{i}"} for i in range(10)], shown=2) == \
        "10 steps: t0 -> t1 -> ... 8 more"


def test_an_answer_the_review_cannot_take_says_why(manual: ProjectDir) -> None:
    folder = run_eval(manual, "manual")
    done = subprocess.run([EXE, "-C", str(manual.root), "review", "manual"], input="x\n2\n-1\n\np\nq\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "unknown key 'x'; [p]ass" in done.stdout
    assert "score 2 is outside 0..1;" in done.stdout and "score -1 is outside 0..1;" in done.stdout
    assert "nothing typed;" in done.stdout
    assert [(x["item_id"], x["verdict"]) for x in lines(folder)] == [("opening-hours", "pass")]  # only the p


@pytest.mark.parametrize("round_", range(2))  # a race: run it more than once
def test_reviewers_at_once_keep_every_answer_and_the_summary_counts_them_all(manual: ProjectDir, round_: int) -> None:
    from gitevals.runs import manifest_with_reviews, read_manifest, read_results, read_reviews, records_with_reviews

    folder = run_eval(manual, "manual")
    reviewers = []
    for n in range(6):  # long comments: a line larger than one write of the file buffer
        keys = "".join(f"c {n}{'x' * 20_000}\n{'pf'[(n + k) % 2]}\n" for k in range(3))
        env = {**ENV, "GIT_CONFIG_VALUE_0": f"reviewer {n}"}
        reviewers.append((keys, subprocess.Popen([EXE, "-C", str(manual.root), "review", folder.name, "--only", "all"],
                                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                 env=env, text=True)))
    for keys, process in reviewers:
        out, err = process.communicate(keys, timeout=120)
        assert process.returncode == 0, out + err
    recorded = lines(folder)
    assert len(recorded) == 6 * 3 * 2  # each comment and each verdict of every reviewer, none cut
    assert {line["reviewer"] for line in recorded} == {f"reviewer {n}" for n in range(6)}
    manifest = read_manifest(folder)
    records = records_with_reviews(folder, read_results(folder))
    assert manifest == manifest_with_reviews(manifest, records)  # the summary saw every reviewer's answers
    assert len(read_reviews(folder)) == len(recorded)


def test_a_reviewer_waits_for_another_ones_half_written_line_instead_of_cutting_it(manual: ProjectDir) -> None:
    from gitevals._util.locks import locked

    folder = run_eval(manual, "manual")
    path = folder / "reviews.jsonl"
    other = ReviewLine(item_id="opening-hours", trial=0, reviewer="someone else", time="2026-12-07T00:00:00Z",
                       verdict="fail").model_dump_json()
    with locked(path):  # as another reviewer's process does while it appends
        path.write_text(other[:20])
        process = subprocess.Popen([EXE, "-C", str(manual.root), "review", folder.name], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True)
        process.stdin.write("p\nq\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]
        time.sleep(1.5)
        assert path.read_text() == other[:20]  # not cut as if torn by a killed writer
        path.write_text(other + "\n")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    assert [line["reviewer"] for line in lines(folder)] == ["someone else", REVIEWER]
