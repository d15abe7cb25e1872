"""Run folders: ids, the append-only results file and its torn last line."""

from __future__ import annotations

import json
import shlex
import shutil
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gitevals.errors import DataError
from gitevals.runs import new_run_id, parse_results, read_results
from tests.conftest import ProjectDir


def test_run_ids_sort_by_time() -> None:
    early = new_run_id(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    late = new_run_id(datetime(2026, 1, 2, 3, 4, 6, tzinfo=timezone.utc))
    assert early.startswith("20260102T030405Z-") and len(early) == len("20260102T030405Z-1a2b3c4")
    assert early < late


def test_torn_last_line_is_dropped(tmp_path: Path) -> None:
    lines = [json.dumps({"item_id": f"i{n}", "text": "a\nb"}) for n in range(3)]
    (tmp_path / "results.jsonl").write_text("\n".join(lines) + "\n" + '{"item_id": "i3", "tex')
    records = read_results(tmp_path)
    assert [r["item_id"] for r in records] == ["i0", "i1", "i2"]
    assert records[0]["text"] == "a\nb"
    assert read_results(tmp_path / "missing") == []
    assert parse_results(b"", "x") == []


def test_a_bad_line_in_the_middle_is_an_error_with_its_number() -> None:
    with pytest.raises(DataError, match=r"x:2: line 2 is not JSON"):
        parse_results(b'{"a": 1}\n{oops\n{"a": 2}\n', "x")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_rewritten_files_keep_their_mode_and_new_ones_get_the_usual_one(support_project: ProjectDir) -> None:
    exe = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"

    def gitevals(*args: str) -> None:  # under the usual umask, whatever the test runner's is
        command = " ".join(shlex.quote(a) for a in (exe, *args))
        subprocess.run(["sh", "-c", f"umask 022 && exec {command}"], cwd=support_project.root, check=True,
                       capture_output=True)

    gitevals("run", "support")
    [folder] = (support_project.root / "runs" / "support").iterdir()
    assert stat.S_IMODE((folder / "run.json").stat().st_mode) == 0o644  # written several times, atomically
    dataset = support_project.root / "datasets" / "support.yaml"
    dataset.chmod(0o640)
    gitevals("dataset", "add", "support", "--input", "Do you ship abroad?")
    assert "Do you ship abroad?" in dataset.read_text()
    assert stat.S_IMODE(dataset.stat().st_mode) == 0o640
    assert not list(dataset.parent.glob(".*.tmp"))  # no temporary file left behind
