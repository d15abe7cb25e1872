"""User code that raises each kind of BaseException, from a sync target (on a
worker thread), an async target (on the event loop) and a scorer: it is that
item's error, the run completes, and only the failed item fails it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ProjectDir

from ._faults import gitevals

CODE = '''
import asyncio, os, sys


class Custom(BaseException):
    """Raised by code that wants to get past `except Exception`."""


RAISES = {
    "exit-0": lambda: sys.exit(0),
    "exit-3": lambda: sys.exit(3),
    "keyboard-interrupt": lambda: (_ for _ in ()).throw(KeyboardInterrupt),
    "generator-exit": lambda: (_ for _ in ()).throw(GeneratorExit),
    "cancelled": lambda: (_ for _ in ()).throw(asyncio.CancelledError),
    "custom": lambda: (_ for _ in ()).throw(Custom("mine")),
}


def target(x):
    if x == "bad":
        RAISES[os.environ["RAISE"]]()
    return x


def echo(x):
    return x


async def async_target(x):
    await asyncio.sleep(0)
    return target(x)


def scorer(sample):
    if sample.output == "bad":
        RAISES[os.environ["RAISE"]]()
    return 1.0
'''

KINDS = {"exit-0": "SystemExit", "exit-3": "SystemExit", "keyboard-interrupt": "KeyboardInterrupt",
         "generator-exit": "GeneratorExit", "cancelled": "CancelledError", "custom": "Custom"}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("where", ["sync-target", "async-target", "scorer"])
def test_each_base_exception_from_user_code_is_its_items_error(project: ProjectDir, monkeypatch: pytest.MonkeyPatch,
                                                               where: str, kind: str) -> None:
    project.write("user_code.py", CODE)
    project.write("datasets/d.yaml", "items:\n" + "".join(f"  - {{id: {i}, input: {i}}}\n" for i in ("a", "bad", "c")))
    target = {"sync-target": "target", "async-target": "async_target", "scorer": "echo"}[where]
    project.write("evals/e.yaml", f'dataset: d\ntarget: user_code:{target}\nscorers: ["user_code:scorer"]\nconcurrency: 3\n')
    project.git_init()
    project.commit()
    monkeypatch.setenv("RAISE", kind)
    done = gitevals(project, "run", "e")
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)  # the bad item fails the run
    assert "Traceback" not in done.stdout + done.stderr
    [folder] = (project.root / "runs/e").iterdir()
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["status"] == "completed" and manifest["summary"]["total_items"] == 3
    records = {r["item_id"]: r for r in map(json.loads, (folder / "results.jsonl").read_text().splitlines())}
    error = records["bad"]["scores"]["scorer"]["error"] if where == "scorer" else records["bad"]["error"]
    assert error["type"] == KINDS[kind] and "user_code.py" in (error.get("where") or ""), error
    if where == "scorer":  # and the run's output says where the scorer broke
        assert "bad scorer failed to score" in done.stdout and "at user_code.py:" in done.stdout, done.stdout
    assert all(records[i]["error"] is None and records[i]["scores"]["scorer"]["value"] == 1.0 for i in ("a", "c"))
