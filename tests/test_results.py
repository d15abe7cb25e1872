"""Run folders: ids, the append-only results file and its torn last line."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gitevals.errors import DataError
from gitevals.results import new_run_id, parse_results, read_results


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
