"""What the fault suite shares: a project, gitevals started with a fault, and
the checks every fault must pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ProjectDir

EXE = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"
INJECT = Path(__file__).parent / "inject"

AGENT = "def run(x):\n    return x\n"
ITEMS = "items:\n" + "".join(f"  - {{id: i{n}, input: a{n}, expected: a{n}}}\n" for n in range(6))


def make_project(project: ProjectDir) -> None:
    """A committed project: a dataset of 6 items, an eval of an echo agent."""
    project.write("agent_mod.py", AGENT)
    project.write("datasets/d.yaml", ITEMS)
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:run\nscorers: [exact_match]\nconcurrency: 2\n")
    project.git_init()
    project.commit()


def gitevals(project: ProjectDir, *args: str, fault: str | None = None, stdin: str | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`gitevals ARGS...` in the project, with `fault` (see inject/sitecustomize.py) when given."""
    env = {**os.environ, "CI": "1"}
    if fault is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(INJECT), env.get("PYTHONPATH")]))
        env["GITEVALS_FAULT"] = fault
    return subprocess.run([EXE, *args], cwd=project.root, capture_output=True, text=True, env=env, input=stdin,
                          timeout=timeout)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` but git's own, by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def assert_refused(done: subprocess.CompletedProcess[str], names: str, code: int = 2) -> None:
    """The documented exit code, a message naming the file, and no traceback."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert names in done.stderr, done.stderr
