"""The pytest plugin: `pytest --gitevals [EVAL ...]` turns each item of each eval
into a test (`evals/<eval>.yaml::<item_id>`).

The first test of an eval runs the whole eval once, recording the run folder as
`gitevals run` would. The session fails exactly when `gitevals run` would exit
1 on its gates: an eval without thresholds needs every item to pass, so a
failing item is a failed test; with thresholds (or with `--gitevals-baseline
REF`, its `gate:` on the comparison) the gates decide, a failing item is shown
as xfailed, and a failing gate fails the session.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    import pytest
except ModuleNotFoundError as exc:  # a plain `pip install gitevals` brings no pytest
    raise ModuleNotFoundError(
        "the gitevals pytest plugin needs pytest, which is not installed: pip install 'gitevals[pytest]'"
    ) from exc

from gitevals._util.words import gate_text, trial_label

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr

__all__ = ["pytest_addoption", "pytest_collect_file", "pytest_sessionfinish"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gitevals")
    group.addoption(
        "--gitevals",
        action="store",
        nargs="*",
        default=None,
        metavar="EVAL",
        help="Run gitevals evals as tests: every eval under evals/, or the ones named.",
    )
    group.addoption(
        "--gitevals-baseline",
        action="store",
        default=None,
        metavar="REF",
        help="Compare each eval's run with its newest run at REF; the eval's `gate:` then fails the session.",
    )


def _wanted(config: pytest.Config) -> list[str] | None:
    return config.getoption("--gitevals", default=None)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    wanted = _wanted(parent.config)
    if wanted is None or file_path.suffix not in (".yaml", ".yml"):
        return None
    from .project import find_project

    project = find_project(parent.config.invocation_params.dir)
    if file_path.parent.resolve() != project.evals_dir.resolve():
        return None
    if wanted and file_path.stem not in wanted:
        return None
    return EvalFile.from_parent(parent, path=file_path)


class EvalFile(pytest.File):
    """One eval file: its items are the tests."""

    outcome: Any = None

    def collect(self) -> Any:
        from .engine import plan_eval
        from .errors import GitevalsError
        from .project import find_project
        from .runs import check_ref

        self.project = find_project(self.config.invocation_params.dir)
        baseline = self.config.getoption("--gitevals-baseline", default=None)
        try:
            self.plan = plan_eval(self.project, str(self.path))
            if baseline is not None:  # a ref that names nothing is an error now, not after the run
                check_ref(self.project, baseline)
        except GitevalsError as exc:
            raise self.CollectError(str(exc)) from None
        for item in self.plan.dataset.items:
            yield EvalItem.from_parent(self, name=item.id, item_id=item.id)

    def run_once(self) -> Any:
        if self.outcome is None:
            from .engine import Baseline, run_eval

            ref = self.config.getoption("--gitevals-baseline", default=None)
            self.outcome = run_eval(self.project, self.plan, baseline=Baseline(ref) if ref else None)
            self.config.stash.setdefault(_OUTCOMES, []).append(self.outcome)
        return self.outcome

    class CollectError(Exception):
        pass


class EvalFailure(Exception):
    """An item failed its scorers or its target call."""


class EvalItem(pytest.Item):
    def __init__(self, *, item_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item_id = item_id

    def runtest(self) -> None:
        from gitevals.formats import score_passed
        from gitevals.runs import every_item_rule

        assert isinstance(self.parent, EvalFile)
        outcome = self.parent.run_once()
        problems = []
        for result in outcome.result.items:
            if result.item.id != self.item_id:
                continue
            trial = trial_label(result.trial, outcome.manifest.summary.trials if outcome.manifest.summary else 1)
            if result.error is not None:
                problems.append(f"target error{trial}: {result.error['type']}: {result.error['message']}")
                continue
            for name, score in result.scores.items():
                if score_passed(score):
                    continue
                why = score["error"]["message"] if score.get("error") else (score.get("reason") or "")
                value = "error" if score.get("value") is None else f"{score['value']:.2f}"
                problems.append(f"{name} {value}{trial}" + (f": {why}" if why else ""))
        if problems and not every_item_rule(outcome.manifest.gates):
            # the eval's thresholds (or its baseline gate) decide, as for `gitevals run`: a failing
            # item is shown, but only a failing gate fails the session
            pytest.xfail("\n".join(problems) + "\n(the eval's gates decide whether the run passes)")
        if problems:
            raise EvalFailure("\n".join(problems))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, EvalFailure):
            # the first problem on the first line, which pytest's short test summary shows
            return f"{self.item_id} failed: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.path.name}::{self.item_id}"


_OUTCOMES = pytest.StashKey[list]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from gitevals.runs import every_item_rule

    outcomes = session.config.stash.get(_OUTCOMES, [])
    # an eval without thresholds fails through its failing items' tests, so that
    # `-k` leaves out what it deselects: its every-item gate is not repeated here
    failed = [g for outcome in outcomes if not every_item_rule(outcome.manifest.gates)
              for g in outcome.manifest.gates if not g.passed]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and outcomes:
        reporter.write_line("")
    for outcome in outcomes:
        if reporter is not None:
            reporter.write_line(f"gitevals: {outcome.manifest.eval} recorded in {outcome.path}")
    if failed:
        if reporter is not None:
            for gate in failed:
                reporter.write_line(f"gitevals gate: {gate_text(gate)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
