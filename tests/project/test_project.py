"""Project layout: init, gitevals.yaml, schemas, and the bundled example."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from gitevals._yaml.load import load_yaml
from gitevals.cli import cli
from gitevals.errors import ConfigError, NotFoundError
from gitevals.formats import generate_schemas, stale_schemas
from gitevals.project import find_project
from tests.conftest import ProjectDir, git

REPO = Path(__file__).resolve().parents[2]
EXE = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"


@pytest.mark.parametrize("folder", ["schemas", "example-evals/schemas"])
def test_schemas_in_the_repository_are_up_to_date(folder: str) -> None:
    stale = stale_schemas(REPO / folder)
    assert not stale, f"regenerate with `make schemas`: {stale}"


def test_schema_check_command_notices_a_stale_file(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["schema", "--write", str(tmp_path)]).exit_code == 0
    assert runner.invoke(cli, ["schema", "--check", str(tmp_path)]).exit_code == 0
    (tmp_path / "eval.schema.json").write_text("{}\n")
    result = runner.invoke(cli, ["schema", "--check", str(tmp_path)])
    assert result.exit_code == 1 and "eval.schema.json" in result.output


def test_init_creates_a_project_that_runs(tmp_path: Path) -> None:
    target = tmp_path / "fresh"
    result = CliRunner().invoke(cli, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert "initialized a git repository" in result.output
    assert (target / ".git").is_dir()
    dataset = (target / "datasets/example.yaml").read_text()
    assert dataset.startswith("# yaml-language-server: $schema=../schemas/dataset.schema.json\n")
    # the files it writes satisfy the schemas it writes next to them
    for stem, relative in (("dataset", "datasets/example.yaml"), ("eval", "evals/example.yaml"), ("project", "gitevals.yaml")):
        schema = json.loads((target / "schemas" / f"{stem}.schema.json").read_text())
        data = load_yaml((target / relative).read_text(), relative)
        jsonschema.validate(data, schema)
    git(target, "add", "--all")
    git(target, "commit", "-qm", "init")
    ran = subprocess.run([EXE, "-C", str(target), "run", "example"], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "pass  exact_match  mean" in ran.stdout
    again = CliRunner().invoke(cli, ["init", str(target)])
    assert "kept gitevals.yaml (already there)" in again.output  # never overwrites


def test_init_inside_a_repository_does_not_nest_one(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    CliRunner().invoke(cli, ["init", str(tmp_path / "evals-here")])
    assert not (tmp_path / "evals-here" / ".git").exists()


def test_gitevals_yaml_settings_and_errors(project: ProjectDir) -> None:
    project.write("gitevals.yaml", "datasets_dir: data\nruns_dir: out\npython_path: [src]\n")
    found = find_project(project.root)
    assert found.datasets_dir == project.root / "data" and found.runs_dir == project.root / "out"
    project.write("gitevals.yaml", "defaults: {concurency: 3}\n")
    with pytest.raises(ConfigError, match=r"gitevals.yaml:1:\d+: unknown key 'concurency' in defaults") as caught:
        find_project(project.root)
    assert "did you mean 'concurrency'" in str(caught.value)


def test_python_path_and_named_targets_and_scorers(project: ProjectDir) -> None:
    project.write(
        "gitevals.yaml",
        """
        python_path: [src]
        targets:
          bot: agents.bot:reply
        scorers:
          loose: {type: exact_match, case_sensitive: false}
        """,
    )
    project.write("src/agents/__init__.py", "")
    project.write("src/agents/bot.py", "def reply(x):\n    return x.upper()\n")
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: hi, expected: hi}\n")
    project.write("evals/e.yaml", "dataset: d\ntarget: bot\nscorers: [loose]\nthresholds: {loose: 1}\n")
    result = CliRunner().invoke(cli, ["-C", str(project.root), "run", "e"])
    assert result.exit_code == 0, result.output
    assert "pass  loose  mean 1.00, needs >= 1.00" in result.output


def test_bundled_example_is_valid() -> None:
    example = REPO / "example-evals"
    result = CliRunner().invoke(cli, ["-C", str(example), "dataset", "validate"])
    assert result.exit_code == 0, result.output
    evals = sorted(p.stem for p in (example / "evals").glob("*.yaml"))
    assert "support-qa" in evals


def test_ctrl_c_keeps_finished_items_and_marks_the_run_interrupted(project: ProjectDir) -> None:
    project.write(
        "slow_agent.py",
        """
        import time

        def run(x):
            if x >= 3:
                time.sleep(60)
            return x
        """,
    )
    items = "".join(f"  - {{id: i{n}, input: {n}, expected: {n}}}\n" for n in range(8))
    project.write("datasets/d.yaml", "items:\n" + items)
    project.write("evals/e.yaml", "dataset: d\ntarget: slow_agent:run\nscorers: [exact_match]\nconcurrency: 1\n")
    proc = subprocess.Popen([EXE, "run", "e"], cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = project.root / "runs" / "e"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        lines = list(results.glob("*/results.jsonl"))
        if lines and len(lines[0].read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, out + err
    [folder] = results.iterdir()
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["status"] == "interrupted"
    done = [json.loads(line)["item_id"] for line in (folder / "results.jsonl").read_text().splitlines()]
    assert done == ["i0", "i1", "i2"]
    assert "interrupted" in out and "finished items are kept" in out
    assert "Traceback" not in err


def test_help_is_fast_because_heavy_modules_load_lazily() -> None:
    code = "import sys, gitevals.cli; print(sorted(m for m in ('pydantic', 'git', 'rich', 'anyio', 'ruamel.yaml', 'jsonschema') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ}, check=True)
    assert done.stdout.strip() == "[]"


def test_every_model_has_a_schema_with_field_docs() -> None:
    schemas = generate_schemas()
    assert set(schemas) == {"project", "dataset", "eval", "run", "result", "review"}
    assert "supersedes" in schemas["review"]["description"]
    item = schemas["dataset"]["$defs"]["DatasetItemModel"]["properties"]
    assert "stable forever" in item["id"]["description"]


def test_public_names_resolve() -> None:
    import gitevals

    for name in gitevals.__all__:
        assert getattr(gitevals, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gitevals.nope  # noqa: B018


def test_outside_any_project_a_missing_eval_says_so_and_how_to_get_to_one(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as outside:
        find_project(tmp_path).eval_path("example")
    assert f"{tmp_path.resolve()} is not a gitevals project (no gitevals.yaml here or above" in str(outside.value)
    assert "gitevals init" in (outside.value.problems[0].hint or "")
    (tmp_path / "evals").mkdir()  # a project without gitevals.yaml is still one: the usual message
    with pytest.raises(NotFoundError) as inside:
        find_project(tmp_path).eval_path("example")
    assert str(inside.value).startswith("no eval named 'example' in evals/")
