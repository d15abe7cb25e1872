from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from gitevals.datasets import Dataset, load_dataset, make_item
from gitevals.errors import DataError


def write(tmp_path: Path, text: str, name: str = "qa.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DataError) as caught:
        load_dataset(path)
    return [str(p) for p in caught.value.problems]


def test_loads_items_with_hashes_and_tags(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "description: d\nitems:\n"
        "  - id: a\n    input: {q: hi}\n    expected: [1, 2]\n    context: {tags: [x, y]}\n"
        "  - id: b\n    input: plain\n",
    )
    data = load_dataset(path)
    assert data.name == "qa"
    assert [i.id for i in data.items] == ["a", "b"]
    a = data.items[0]
    canonical = json.dumps({"q": "hi"}, sort_keys=True, separators=(",", ":"))
    assert a.input_hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert a.expected_hash == hashlib.sha256(b"[1,2]").hexdigest()
    whole = {"input": a.input, "expected": a.expected, "context": a.context, "expected_trajectory": None}
    assert a.hash == hashlib.sha256(json.dumps(whole, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert a.tags == ["x", "y"]
    assert data.items[1].expected is None
    assert data.with_tags(["y"]).items == (a,)
    assert data.with_tags([]).items == data.items


def test_hash_changes_with_each_part_and_not_with_key_order() -> None:
    base = make_item("a", {"x": 1, "y": 2}, "out", context={"tags": ["t"]})
    same = make_item("a", {"y": 2, "x": 1}, "out", context={"tags": ["t"]})
    assert base.hash == same.hash and base.input_hash == same.input_hash
    assert make_item("a", {"x": 1, "y": 3}, "out", context={"tags": ["t"]}).input_hash != base.input_hash
    assert make_item("a", {"x": 1, "y": 2}, "OUT", context={"tags": ["t"]}).expected_hash != base.expected_hash
    changed_context = make_item("a", {"x": 1, "y": 2}, "out", context={"tags": ["u"]})
    assert changed_context.hash != base.hash and changed_context.input_hash == base.input_hash


def test_blob_sha_matches_git(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  - {id: a, input: x}\n")
    git_sha = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True)
    assert load_dataset(path).blob_sha == git_sha.stdout.strip()


def test_dataset_hash_changes_when_an_item_changes(tmp_path: Path) -> None:
    one = load_dataset(write(tmp_path, "items:\n  - {id: a, input: x}\n", "one.yaml"))
    two = load_dataset(write(tmp_path, "items:\n  - {id: a, input: y}\n", "two.yaml"))
    again = load_dataset(write(tmp_path, "# a comment\nitems:\n  - {id: a, input: x}\n", "three.yaml"))
    assert one.hash != two.hash
    assert one.hash == again.hash  # comments are not content


def test_every_problem_of_a_file_is_reported_with_its_position(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "input_schema: {type: string}\n"  # 1
        "itemz: []\n"  # 2
        "items:\n"  # 3
        "  - id: a\n"  # 4
        "    input: hi\n"  # 5
        "  - input: no id\n"  # 6
        "  - id: a\n"  # 7
        "    input: dup\n"  # 8
        "  - id: bad id!\n"  # 9
        "    input: x\n"  # 10
        "  - id: n\n"  # 11
        "    input: 42\n"  # 12
        "  - id: m\n"  # 13
        "    inptu: typo\n",  # 14
    )
    found = problems_of(path)
    assert found[0].startswith(f"{path}:2:1: unknown key 'itemz'") and "did you mean 'items'" in found[0]
    expected_starts = [
        f"{path}:6:5: item #2 has no id",
        f"{path}:7:5: duplicate id 'a' (first used on line 4)",
        f"{path}:9:5: id 'bad id!' has characters outside",
        f"{path}:12:5: item 'n' (#5): input breaks input_schema: 42 is not of type 'string'",
        # a misspelt required key is one problem, not a missing key and an unknown one
        f"{path}:14:5: unknown key 'inptu' in item 'm' (#6)\n  hint: did you mean 'input'? it is required",
    ]
    for start in expected_starts:
        assert any(p.startswith(start) for p in found), (start, found)
    assert len(found) == 6
    assert all("hint:" in p for p in found if "breaks" not in p)


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  - id: a\n    input: !!python/object/apply:os.system [echo hacked]\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:3:12: the tag !!python/object/apply:os.system is not allowed")


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  - id: a\n    input: [1, 2\n  - id: b\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:4:")
    assert "starts at line 3" in problem


def test_the_items_beside_a_yaml_error_are_still_checked(tmp_path: Path) -> None:
    # as a linter does: a syntax error or a forbidden tag in one item hides nothing in the others
    path = write(
        tmp_path,
        "input_schema: {type: string}\n"    # 1
        "items:\n"                          # 2
        "  - id: a\n"                       # 3
        "    input: fine\n"                 # 4
        "    colour: red\n"                 # 5  unknown key
        "  - id: b\n"                       # 6
        "    input: [1, 2\n"                # 7  unclosed: the parser notices on line 8
        "  - id: c\n"                       # 8
        "    input: x\n"                    # 9
        "  - id: d\n"                       # 10
        "    input: !!python/object/apply:os.system [echo]\n"  # 11
        "  - id: a\n"                       # 12 duplicate id
        "    input: {not: a string}\n"      # 13 breaks input_schema
        "other: 1\n",                       # 14 unknown top-level key
    )
    found = problems_of(path)
    where = [p.split(": ", 1)[0].removeprefix(f"{path}:") for p in found]
    assert where == ["5:5", "8:7", "11:12", "12:5", "13:5", "14:1"], found
    assert "starts at line 7" in found[1] and "the tag !!python/object/apply:os.system is not allowed" in found[2]
    assert "duplicate id 'a' (first used on line 3)" in found[3] and "breaks input_schema" in found[4]
    # an error outside the items, or in the only item, is reported alone
    assert len(problems_of(write(tmp_path, "description: [x\nitems:\n  - {id: a, input: [1}\n"))) == 1
    assert len(problems_of(write(tmp_path, "items:\n  - id: a\n    input: [1, 2\n"))) == 1


def test_duplicate_keys_are_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  - id: a\n    input: x\n    input: y\n")
    [problem] = problems_of(path)
    assert f"{path}:4:5" in problem and "duplicate key" in problem


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "a dataset file is a mapping"),
        ("items: nope\n", "items: expected a list, found a string"),
        ("items:\n  - just a string\n", "2:5: item #1: expected a mapping, found a string"),
        ("expected_schema: {type: nonsense}\nitems: []\n", "expected_schema is not a valid JSON Schema"),
    ],
)
def test_wrong_shapes_are_explained(tmp_path: Path, text: str, message: str) -> None:
    found = problems_of(write(tmp_path, text))
    assert any(message in p for p in found), found


def test_expected_schema_is_checked_only_where_expected_is_given(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "expected_schema: {type: object, required: [answer]}\nitems:\n"
        "  - {id: a, input: x}\n"
        "  - id: b\n    input: y\n    expected: {answr: 1}\n",
    )
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:6:5: item 'b' (#2): expected breaks expected_schema: 'answer' is a required")


def test_an_item_with_another_problem_still_gets_its_schema_checked(tmp_path: Path) -> None:
    # all problems at once: fixing the unknown key must not reveal a schema break hidden behind it
    path = write(
        tmp_path,
        "input_schema: {type: object, required: [q]}\nitems:\n"
        "  - id: a\n    input: {z: 1}\n    colour: red\n"
        "  - input: {z: 2}\n",
    )
    found = problems_of(path)
    assert any(p.startswith(f"{path}:4:5: item 'a' (#1): input breaks input_schema") for p in found), found
    assert any(p.startswith(f"{path}:6:5: item #2: input breaks input_schema") for p in found), found
    assert any("unknown key 'colour'" in p for p in found) and any("item #2 has no id" in p for p in found)


def test_numbers_dates_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffitems:\n  - id: 7\n    input: 2026-01-01\n".encode())
    [item] = load_dataset(path).items
    assert item.id == "7"
    assert item.input == "2026-01-01"  # a date stays the text it was, never a datetime


def test_missing_and_empty_files(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path / "absent.yaml")
    assert "file not found" in problem
    assert load_dataset(write(tmp_path, "")).items == ()


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes("items:\n  - {id: a, input: caf\xe9}\n".encode("latin-1"))
    [problem] = problems_of(path)
    assert "not UTF-8" in problem and "save the file as UTF-8" in problem


CACHED = """\
description: cached
input_schema: {type: object}
items:
  - id: a
    input: {q: "tab\\there, newline\\nthere", n: 1.5}
    expected: [1, "two"]
    context: {tags: [x]}
    expected_trajectory: {steps: [{name: lookup}], ordering: relaxed}
    tool_mocks: {lookup: {found: true}}
    unmocked_tools: deny
  - id: b
    input: {q: plain}
"""


def _cache_files(root: Path) -> list[Path]:
    return sorted((root / ".git" / "gitevals" / "datasets").glob("*.tsv"))


def test_a_valid_dataset_in_a_repository_is_read_back_from_the_cache_unchanged(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    path = write(tmp_path, CACHED)
    parsed = load_dataset(path)
    assert len(_cache_files(tmp_path)) == 1
    cached = load_dataset(path)
    assert cached.items == parsed.items and cached.hash == parsed.hash
    assert [i.hash for i in cached.items] == [i.hash for i in parsed.items]
    assert (cached.description, cached.input_schema, cached.blob_sha, cached.path) == (
        parsed.description, parsed.input_schema, parsed.blob_sha, parsed.path)
    assert cached.items[0].input == {"q": "tab\there, newline\nthere", "n": 1.5}
    assert cached.items[0].tool_mocks == {"lookup": {"found": True}}


def test_the_cache_is_used_and_an_edited_file_is_parsed_again(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    path = write(tmp_path, CACHED)
    load_dataset(path)
    [cache] = _cache_files(tmp_path)
    cache.write_text(cache.read_text().replace('"q":"plain"', '"q":"from the cache"'))
    assert load_dataset(path).items[1].input == {"q": "from the cache"}
    path.write_text(CACHED.replace("q: plain", "q: edited"), encoding="utf-8")
    assert load_dataset(path).items[1].input == {"q": "edited"}
    assert len(_cache_files(tmp_path)) == 2


@pytest.mark.parametrize("damage", ["", "not json\n", '{"format": 1}\n', "torn", "no hash"])
def test_a_damaged_cache_file_is_ignored(tmp_path: Path, damage: str) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    path = write(tmp_path, CACHED)
    expected = load_dataset(path).items
    [cache] = _cache_files(tmp_path)
    text = cache.read_text()
    if damage == "no hash":  # a header of this format without the dataset's hash
        header, _, rest = text.partition("\n")
        damage = json.dumps({k: v for k, v in json.loads(header).items() if k != "hash"}) + "\n" + rest
    cache.write_text(text[: len(text) - 10] if damage == "torn" else damage)
    found = load_dataset(path)
    assert found.items == expected and found.hash == Dataset(found.name, expected).hash


def test_invalid_datasets_are_not_cached_and_nothing_is_cached_outside_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    bad = write(repo, "items:\n  - id: a\n  - input: no id\n")
    for _ in range(2):
        assert len(problems_of(bad)) == 2
    assert _cache_files(repo) == []
    plain = tmp_path / "plain"
    plain.mkdir()
    load_dataset(write(plain, CACHED))
    assert not any(p.name == "gitevals" for p in tmp_path.rglob("*") if ".git" not in p.parts)


def test_the_cache_keeps_the_most_recently_used_datasets_within_its_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from gitevals.datasets import _cache as _datasetcache

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    paths = [write(tmp_path, CACHED.replace("plain", f"v{n}"), f"d{n}.yaml") for n in range(3)]
    for n, path in enumerate(paths):
        load_dataset(path)
        os.utime(_cache_files(tmp_path)[0].parent / f"{load_dataset(path).blob_sha}.tsv", (n, n))
    load_dataset(paths[0])  # used again: now the most recent
    size = max(p.stat().st_size for p in _cache_files(tmp_path))
    monkeypatch.setattr(_datasetcache, "MAX_BYTES", 2 * size)
    load_dataset(write(tmp_path, CACHED.replace("plain", "v3"), "d3.yaml"))  # stores, then prunes
    kept = {p.stem for p in _cache_files(tmp_path)}
    assert kept == {load_dataset(paths[0]).blob_sha, load_dataset(tmp_path / "d3.yaml").blob_sha}


def test_an_item_key_dedented_to_the_top_says_to_indent_it(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  - id: a\n    input: x\nexpected: y\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:4:1: unknown key 'expected'")
    assert "hint: `expected` is a key of each entry of `items`: indent it under the entry" in problem
