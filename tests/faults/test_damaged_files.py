"""Every file gitevals reads, damaged six ways: each reader either copes (the
damage leaves a valid file) or refuses with exit 2 and a message naming the
file; never a traceback, and the damaged file is left exactly as it was."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ProjectDir

from ._faults import assert_refused, gitevals, make_project

HUGE = 8_000_000  # characters: a value far beyond any real test case


def _yaml_damages(good: bytes) -> dict[str, bytes]:
    first = good.splitlines(keepends=True)[0]
    return {"wrong-type": b"- just\n- a list\n", "duplicate-keys": first + good,
            "huge": good + b"# " + b"x" * HUGE + b"\n"}


def _jsonl_damages(good: bytes) -> dict[str, bytes]:
    line, *rest = good.splitlines(keepends=True)
    doubled = b"{" + line[1:].split(b",")[0] + b", " + line[1:]  # the first key twice, as JSON lets a file say
    return {"wrong-type": b"[1, 2, 3]\n", "duplicate-keys": doubled + b"".join(rest),
            "huge": good.replace(b'"a0"', b'"' + b"y" * HUGE + b'"', 1)}


def _manifest_damages(good: bytes) -> dict[str, bytes]:
    return {"wrong-type": b'{"id": 5, "status": []}', "duplicate-keys": b'{"status": "failed", ' + good.lstrip()[1:],
            "huge": good.replace(b'"dataset": "d"', b'"dataset": "d", "tags": ["' + b"t" * HUGE + b'"]', 1)}


def _csv_damages(good: bytes) -> dict[str, bytes]:
    return {"wrong-type": b"one column, and no header that names input\n", "duplicate-keys": b"input,input\nq,q2\n",
            "huge": b"input,expected\n" + b"".join(b"q%d,a\n" % n for n in range(50_000))}


def _import_jsonl_damages(good: bytes) -> dict[str, bytes]:
    return {"wrong-type": b"[1, 2]\n", "duplicate-keys": b'{"input": "a", "input": "b"}\n',
            "huge": good + b'{"input": "' + b"x" * HUGE + b'"}\n'}


# file (RUN is the run's folder), the command that reads it, how to damage it beyond
# empty / truncated / binary, and the damages after which the file is still valid:
# an empty project file or dataset, a CSV cut after a whole cell, a JSON object
# naming a key twice (the last one counts, as in every JSON reader), a huge value
READERS: dict[str, tuple[str, list[str], Callable[[bytes], dict[str, bytes]], set[str]]] = {
    "dataset": ("datasets/d.yaml", ["dataset", "validate", "d"], _yaml_damages, {"empty", "huge"}),
    "dataset-run": ("datasets/d.yaml", ["run", "e"], _yaml_damages, {"huge"}),
    "eval": ("evals/e.yaml", ["run", "e"], _yaml_damages, {"huge"}),
    "project": ("gitevals.yaml", ["dataset", "list"], _yaml_damages, {"empty", "huge"}),
    "run.json": ("RUN/run.json", ["runs", "show", "RUN"], _manifest_damages, {"duplicate-keys", "huge"}),
    "results": ("RUN/results.jsonl", ["report", "RUN", "--html", "r.html"], _jsonl_damages,
                {"duplicate-keys", "huge"}),
    "reviews": ("RUN/reviews.jsonl", ["runs", "show", "RUN"], _jsonl_damages,
                {"empty", "truncated", "duplicate-keys", "huge"}),
    "import-csv": ("rows.csv", ["dataset", "import", "d", "rows.csv"], _csv_damages, {"truncated", "huge"}),
    "import-jsonl": ("rows.jsonl", ["dataset", "import", "d", "rows.jsonl"], _import_jsonl_damages,
                     {"duplicate-keys", "huge"}),
}
DAMAGES = ["empty", "truncated", "binary", "wrong-type", "duplicate-keys", "huge"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A project with a run and a review of it, made once and copied for each case."""
    project = ProjectDir(tmp_path_factory.mktemp("template") / "proj")
    project.root.mkdir()
    project.write("gitevals.yaml", "defaults: {concurrency: 4}\n")
    make_project(project)
    project.write("rows.csv", "input,expected\nq1,a1\nq2,a2\n")
    project.write("rows.jsonl", '{"input": "q1", "expected": "a1"}\n{"input": "q2"}\n')
    assert gitevals(project, "run", "e").returncode == 0
    review = gitevals(project, "review", "latest", "--reviewer", "r", stdin="p\nf\nq\n")
    assert review.returncode == 0, review.stderr
    [folder] = (project.root / "runs/e").iterdir()
    return project.root, folder.name


def _damaged(good: bytes, damage: str, more: Callable[[bytes], dict[str, bytes]]) -> bytes:
    if damage == "empty":
        return b""
    if damage == "truncated":  # cut in the middle of its second half, as a disk or a copy stopped short
        return good[: len(good) * 3 // 4]
    if damage == "binary":
        return b"\x89PNG\r\n\x1a\n\x00\xff\xfe" + good[:20]
    return more(good)[damage]


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("reader", list(READERS))
def test_a_damaged_file_is_refused_by_name_or_read_and_never_changed(template: tuple[Path, str], tmp_path: Path,
                                                                     reader: str, damage: str) -> None:
    root, run_id = template
    project = ProjectDir(tmp_path / "proj")
    shutil.copytree(root, project.root)
    subprocess.run(["git", "update-index", "--refresh"], cwd=project.root, capture_output=True)
    relative, command, more, still_valid = READERS[reader]
    path = project.root / relative.replace("RUN", f"runs/e/{run_id}")
    data = _damaged(path.read_bytes(), damage, more)
    path.write_bytes(data)
    done = gitevals(project, *(run_id if arg == "RUN" else arg for arg in command))
    if damage in still_valid:
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
    else:
        assert_refused(done, path.name)
    assert path.read_bytes() == data
