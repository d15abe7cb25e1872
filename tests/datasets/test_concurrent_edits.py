"""Concurrent writers of one dataset file: every edit lands or fails loudly, none is lost."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gitevals.datasets import EditableDataset, load_dataset
from gitevals.errors import DataError
from tests.conftest import ProjectDir

EXE = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"


def start_adds(root: Path, names: list[str]) -> list[subprocess.Popen[str]]:
    return [subprocess.Popen([EXE, "dataset", "add", "d", "--id", name, "--input", f"question {name}"],
                             cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name in names]


@pytest.mark.parametrize("round_", range(3))  # a race: run it more than once
def test_sixteen_concurrent_adds_keep_every_item(project: ProjectDir, round_: int) -> None:
    project.write("datasets/d.yaml", "items:\n  - {id: first, input: hello}\n")
    names = [f"par-{round_}-{n}" for n in range(16)]
    for process in start_adds(project.root, names):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, out + err
        assert "Traceback" not in err
    kept = [item.id for item in load_dataset(project.root / "datasets/d.yaml").items]
    assert sorted(kept) == sorted(["first", *names])


def test_a_change_made_meanwhile_is_refused_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("items:\n  - {id: a, input: x}\n")
    editor = EditableDataset.open(path)
    editor.add("from gitevals", id="mine")
    path.write_text("items:\n  - {id: a, input: x}\n  - {id: typed, input: in an editor}\n")  # a person saved
    with pytest.raises(DataError, match="changed since this edit read it"):
        editor.save()
    assert "typed" in path.read_text() and "mine" not in path.read_text()
    path.unlink()
    with pytest.raises(DataError, match="was deleted since this edit read it"):
        editor.save()
    assert not path.exists()
    fresh = EditableDataset.create(tmp_path / "new.yaml")
    (tmp_path / "new.yaml").write_text("items: []\n")
    with pytest.raises(DataError, match="was created since this edit read it"):
        fresh.save()


def test_web_ui_edits_racing_cli_edits_keep_every_item(project: ProjectDir, client_for) -> None:  # type: ignore[no-untyped-def]
    project.write("datasets/d.yaml", "items:\n  - {id: first, input: hello}\n")
    project.write("gitevals.yaml", "{}\n")
    client = client_for(project)
    cli_names = [f"cli-{n}" for n in range(8)]
    processes = start_adds(project.root, cli_names)  # the UI edits below run while these do
    ui_names = [f"ui-{n}" for n in range(8)]
    for name in ui_names:
        answer = client.post("/datasets/d/items", data={"input": f"question {name}", "id": name},
                             headers={"Origin": "http://testserver"}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, out + err
    kept = [item.id for item in load_dataset(project.root / "datasets/d.yaml").items]
    assert sorted(kept) == sorted(["first", *cli_names, *ui_names])
