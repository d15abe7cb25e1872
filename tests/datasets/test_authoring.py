"""Editing datasets: text splices that keep hand-written files intact."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitevals._yaml.emit import emit_item
from gitevals._yaml.load import load_yaml
from gitevals.datasets import EditableDataset, load_dataset, new_id
from gitevals.errors import DataError, GitevalsError, NotFoundError
from tests.conftest import ProjectDir, git, invoke

HAND_WRITTEN = """\
# yaml-language-server: $schema=../schemas/dataset.schema.json
# Support questions, written by hand.
description: "Support questions"   # quoted on purpose

items:
  # --- billing ---
  - id: refund-window
    input: 'How long do I have to ask for a refund?'
    expected: 30 days
    context: {tags: [billing]}

  - id: opening-hours    # keep this one
    input: What are your hours?
    expected: |
      9 to 5

  - {id: flow-item, input: "a flow item"}
# trailing comment about the list
"""


def write(tmp_path: Path, text: str = HAND_WRITTEN) -> Path:
    path = tmp_path / "datasets" / "support.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path



def test_add_appends_after_the_last_item_and_keeps_every_other_byte(tmp_path: Path) -> None:
    path = write(tmp_path)
    editor = EditableDataset.open(path)
    new = editor.add("Do you ship to Mars?", "no", tags=["shipping"])
    editor.save()
    assert new == "do-you-ship-to-mars"
    added = '  - id: do-you-ship-to-mars\n    input: Do you ship to Mars?\n    expected: "no"\n    context: {tags: [shipping]}\n'
    marker = '  - {id: flow-item, input: "a flow item"}\n'
    assert path.read_text() == HAND_WRITTEN.replace(marker, marker + added)
    data = load_dataset(path)
    assert data.items[-1].expected == "no" and data.items[-1].tags == ["shipping"]


def test_remove_retires_the_id_and_touches_nothing_else(tmp_path: Path) -> None:
    path = write(tmp_path)
    editor = EditableDataset.open(path)
    editor.remove(["opening-hours"])
    editor.save()
    text = path.read_text()
    expected = HAND_WRITTEN.replace(
        "  - id: opening-hours    # keep this one\n    input: What are your hours?\n    expected: |\n      9 to 5\n", ""
    ) + "retired_ids: [opening-hours]\n"
    assert text == expected
    editor = EditableDataset.open(path)
    assert editor.retired_ids == ["opening-hours"]
    with pytest.raises(DataError, match="belonged to a removed item"):
        editor.add("again", id="opening-hours")
    auto = editor.add("Opening hours")  # its slug would be the retired id
    assert auto != "opening-hours" and auto.startswith("opening-hours-")


def test_new_ids_never_reuse_a_retired_id(tmp_path: Path) -> None:
    path = write(tmp_path)
    editor = EditableDataset.open(path)
    editor.add("same question", id="same-question")
    editor.remove(["same-question"])
    again = editor.add("same question")
    assert again != "same-question" and again.startswith("same-question-")


def test_removing_every_item_leaves_an_empty_list(tmp_path: Path) -> None:
    path = write(tmp_path)
    editor = EditableDataset.open(path)
    editor.remove(["refund-window", "opening-hours", "flow-item"])
    editor.save()
    assert load_dataset(path).items == ()
    assert "items: []" in path.read_text() and "# Support questions, written by hand." in path.read_text()
    with pytest.raises(NotFoundError, match="no item 'nope'"):
        EditableDataset.open(path).remove(["nope"])


def test_update_rewrites_only_that_item(tmp_path: Path) -> None:
    path = write(tmp_path)
    editor = EditableDataset.open(path)
    editor.update("refund-window", expected="thirty days", context=None)
    editor.save()
    text = path.read_text()
    assert "  - id: refund-window\n    input: How long do I have to ask for a refund?\n    expected: thirty days\n" in text
    assert text.startswith(HAND_WRITTEN.split("  - id: refund-window")[0])
    assert text.endswith(HAND_WRITTEN.split("      9 to 5\n")[0].split("context: {tags: [billing]}\n")[1] + "      9 to 5\n"
                         + HAND_WRITTEN.split("      9 to 5\n")[1])


def test_fix_ids_in_place_for_block_and_flow_items(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  # first\n  - input: What is up?\n    expected: sky\n  - {input: flow one}\n  - id: has-one\n    input: x\n")
    editor = EditableDataset.open(path)
    assert editor.fix_ids() == ["what-is-up", "flow-one"]
    editor.save()
    assert path.read_text() == (
        "items:\n  # first\n  - id: what-is-up\n    input: What is up?\n    expected: sky\n"
        "  - {id: flow-one, input: flow one}\n  - id: has-one\n    input: x\n"
    )


@pytest.mark.parametrize("start", ["items: []\n", "description: d\nitems:\n", "description: d\n", "", "items: ~  # none yet\n"])
def test_adding_to_an_empty_dataset(tmp_path: Path, start: str) -> None:
    path = write(tmp_path, start)
    editor = EditableDataset.open(path)
    editor.add("first question", "first")
    editor.save()
    [item] = load_dataset(path).items
    assert (item.id, item.input, item.expected) == ("first-question", "first question", "first")


def test_flow_lists_and_bad_items_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "items: [{id: a, input: x}]\n")
    with pytest.raises(DataError, match="flow list"):
        EditableDataset.open(path).add("y")
    path = write(tmp_path, "input_schema: {type: string}\nitems: []\n")
    editor = EditableDataset.open(path)
    with pytest.raises(DataError, match="input breaks input_schema"):
        editor.add({"not": "a string"})
    with pytest.raises(DataError, match="characters outside"):
        editor.add("x", id="bad id")
    with pytest.raises(DataError, match="is already used"):
        editor.add("x", id="dup")
        editor.add("y", id="dup")


def test_ids_are_readable_slugs_or_suffixed() -> None:
    assert new_id("How long do I have to ask for a refund?", set()) == "how-long-do-i-have-to"
    assert new_id("x", {"x"}).startswith("x-")
    long_id = new_id("word " * 40, set())
    assert long_id.startswith("word-word") and len(long_id) < 40
    assert new_id({"q": 1}, set()) == "q-1"
    assert new_id("!!!", set()).startswith("item-")


_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(value=_values, text=st.text(max_size=40))
def test_emitted_items_read_back_exactly(value: object, text: str) -> None:
    item = {"id": "x", "input": text, "expected": value, "context": {"note": text, "tags": [text]}}
    assert load_yaml("items:\n" + emit_item(item, 2), "t")["items"] == [item]


def test_failed_write_leaves_the_file_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path)
    editor = EditableDataset.open(path)
    editor.add("new question")

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(GitevalsError, match="support.yaml: cannot be written: disk full"):
        editor.save()
    assert path.read_text() == HAND_WRITTEN
    assert sorted(p.name for p in path.parent.iterdir()) == ["support.yaml"]  # no temp file left


# --- the CLI -------------------------------------------------------------------


def test_new_add_remove_export(project: ProjectDir, tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": "string"}')
    result = invoke(project, "dataset", "new", "faq", "--description", "Frequent questions", "--input-schema", str(schema))
    assert result.exit_code == 0, result.output
    text = (project.root / "datasets/faq.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../schemas/dataset.schema.json\n")
    assert (project.root / "schemas/dataset.schema.json").is_file()
    assert invoke(project, "dataset", "new", "faq").exit_code == 2
    result = invoke(project, "dataset", "add", "faq", "--input", "What is 2+2?", "--expected", "4", "--tag", "math",
                    "--context", '{"level": "easy"}')
    assert result.exit_code == 0 and "added what-is-2-2" in result.output
    [item] = load_dataset(project.root / "datasets/faq.yaml").items
    assert item.expected == 4 and item.context == {"level": "easy", "tags": ["math"]}  # "4" is JSON: a number
    question = tmp_path / "q.txt"
    question.write_text("A long\nquestion\n")
    assert invoke(project, "dataset", "add", "faq", "--input-file", str(question), "--id", "long-one").exit_code == 0
    bad = invoke(project, "dataset", "add", "faq", "--input", '{"a": 1}')
    assert bad.exit_code == 2 and "input breaks input_schema" in bad.output
    assert invoke(project, "dataset", "add", "faq").exit_code == 2
    csv_out = invoke(project, "dataset", "export", "faq", "--format", "csv").output
    assert csv_out.splitlines()[0] == "id,input,expected,tags,context"
    assert 'what-is-2-2,What is 2+2?,4,math,"{""level"": ""easy""}"' in csv_out
    jsonl = [json.loads(x) for x in invoke(project, "dataset", "export", "faq", "--format", "jsonl").output.splitlines()]
    assert jsonl[1] == {"id": "long-one", "input": "A long\nquestion", "expected": None, "context": {}}
    removed = invoke(project, "dataset", "remove", "faq", "long-one")
    assert removed.exit_code == 0 and "removed long-one" in removed.output
    assert invoke(project, "dataset", "remove", "faq", "nope").exit_code == 2


EVERY_FIELD = """
items:
  - id: refund
    input: {question: "How long do refunds take?", locale: de}
    expected: [5-7 days, a week]
    context: {tags: [billing, de], channel: email, priority: 2}
    expected_trajectory: {ordering: strict, steps: [{type: tool_call, name: lookup_order, args: {id: 7}}]}
    tool_mocks: {lookup_order: {status: shipped}}
    unmocked_tools: deny
    request_context: {user: {tier: gold}}
    start_options: {max_steps: 3}
  - id: plain
    input: "Text with, a comma and \\"quotes\\"\\nand a newline"
    expected: just text
  - id: tagged-only
    input: hi
    context: {tags: [solo]}
"""


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_then_import_gives_back_the_same_items(project: ProjectDir, tmp_path: Path, fmt: str) -> None:
    project.write("datasets/d.yaml", EVERY_FIELD)
    exported = tmp_path / f"d.{fmt}"
    assert invoke(project, "dataset", "export", "d", "--format", fmt, "-o", str(exported)).exit_code == 0
    imported = invoke(project, "dataset", "import", "e", str(exported))
    assert imported.exit_code == 0, imported.output
    original = load_dataset(project.root / "datasets/d.yaml").items
    back = load_dataset(project.root / "datasets/e.yaml").items
    assert [item.to_dict() for item in back] == [item.to_dict() for item in original]
    # naming the context column, as a user who saw it in the file would, means the same
    again = invoke(project, "dataset", "import", "f", str(exported), "--context-col", "context")
    assert again.exit_code == 0, again.output
    assert load_dataset(project.root / "datasets/f.yaml").items[0].context == original[0].context


def test_a_text_context_column_is_kept_under_its_name(project: ProjectDir, tmp_path: Path) -> None:
    source = tmp_path / "rag.csv"
    source.write_text("question,answer,context\nWho won?,Ann,The race was won by Ann.\n")
    assert invoke(project, "dataset", "import", "rag", str(source), "--input-col", "question").exit_code == 0
    [item] = load_dataset(project.root / "datasets/rag.yaml").items
    assert item.context == {"context": "The race was won by Ann."} and item.expected == "Ann"


def test_validate_fix_assigns_ids(project: ProjectDir) -> None:
    project.write("datasets/d.yaml", "items:\n  - input: first one\n  - input: second one\n")
    assert invoke(project, "dataset", "validate", "d").exit_code == 2
    fixed = invoke(project, "dataset", "validate", "d", "--fix")
    assert fixed.exit_code == 0 and "new ids first-one, second-one" in fixed.output
    assert [i.id for i in load_dataset(project.root / "datasets/d.yaml").items] == ["first-one", "second-one"]


CSV_TEXT = (
    "\ufeffid,question,answer,topic\r\n"
    "a1,\"How long is the\r\nrefund window?\",30 days,billing\r\n"
    "a2,\"{\"\"q\"\": 1}\",\"[1, 2]\",misc\r\n"
    ",What are your hours?,9 to 5,general\r\n"
)


def test_import_csv_with_bom_crlf_quoted_newlines_and_json_cells(project: ProjectDir, tmp_path: Path) -> None:
    source = tmp_path / "tickets.csv"
    source.write_bytes(CSV_TEXT.encode("utf-8"))
    result = invoke(project, "dataset", "import", "tickets", str(source), "--input-col", "question",
                    "--expected-col", "answer", "--context-col", "topic", "--tag", "imported")
    assert result.exit_code == 0, result.output
    items = {i.id: i for i in load_dataset(project.root / "datasets/tickets.yaml").items}
    assert items["a1"].input == "How long is the\r\nrefund window?" or items["a1"].input == "How long is the\nrefund window?"
    assert items["a2"].input == {"q": 1} and items["a2"].expected == [1, 2]
    assert items["what-are-your-hours"].context == {"topic": "general", "tags": ["imported"]}


def test_every_bad_row_is_reported_with_its_line_and_nothing_written(project: ProjectDir, tmp_path: Path) -> None:
    project.write("datasets/d.yaml", "input_schema: {type: string, maxLength: 20}\nitems:\n  - {id: old, input: x}\n")
    before = (project.root / "datasets/d.yaml").read_text()
    source = tmp_path / "rows.csv"
    source.write_text(
        "id,input,expected\n"
        "ok1,fine,yes\n"          # line 2
        "empty,,x\n"              # line 3: empty input
        "long,this input is far too long for the schema,x\n"  # line 4
        "ok1,again,x\n"           # line 5: duplicate id
        "ragged,a,b,c\n"          # line 6: ragged
        "old,exists,x\n"          # line 7: conflict
        "ok2,\"multi\nline\",x\n"  # line 8-9
        "bad id,x,y\n"            # line 10
    )
    result = invoke(project, "dataset", "import", "d", str(source))
    assert result.exit_code == 2
    out = result.output
    for expected in (
        f"{source}:3: input is empty",
        f"{source}:4: input breaks input_schema",
        f"{source}:5: id 'ok1' is also on line 2",
        f"{source}:6: row has 4 cells, the header has 3",
        f"{source}:7: id 'old' is already in the dataset (see --on-conflict)",
        f"{source}:10: id 'bad id' has characters outside",
    ):
        assert expected in out, (expected, out)
    assert "nothing imported" in out
    assert (project.root / "datasets/d.yaml").read_text() == before
    dry = invoke(project, "dataset", "import", "d", str(source), "--skip-invalid", "--dry-run")
    assert dry.exit_code == 0 and "2 to add" in dry.output
    assert (project.root / "datasets/d.yaml").read_text() == before
    done = invoke(project, "dataset", "import", "d", str(source), "--skip-invalid")
    assert done.exit_code == 0 and "6 invalid rows" in done.output
    ids = [i.id for i in load_dataset(project.root / "datasets/d.yaml").items]
    assert ids == ["old", "ok1", "ok2"]
    assert (project.root / "datasets/d.yaml").read_text().startswith(before)


def test_on_conflict_skip_and_update(project: ProjectDir, tmp_path: Path) -> None:
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: old}\n")
    source = tmp_path / "rows.jsonl"
    source.write_text('{"id": "a", "input": "new"}\n{"id": "b", "input": "other", "expected_output": "x"}\n')
    skip = invoke(project, "dataset", "import", "d", str(source), "--on-conflict", "skip")
    assert skip.exit_code == 0 and "1 already there" in skip.output
    assert load_dataset(project.root / "datasets/d.yaml").items[0].input == "old"
    source.write_text('{"id": "a", "input": "new"}\n')
    update = invoke(project, "dataset", "import", "d", str(source), "--on-conflict", "update")
    assert update.exit_code == 0
    items = load_dataset(project.root / "datasets/d.yaml").items
    assert [(i.id, i.input) for i in items] == [("a", "new"), ("b", "other")] and items[1].expected == "x"


def test_import_json_array_and_jsonl_errors(project: ProjectDir, tmp_path: Path) -> None:
    source = tmp_path / "rows.json"
    source.write_text('[\n  {"input": "one", "ground_truth": "1"},\n  {"input": {"a": 1}, "ground_truth": "2"},\n  "oops"\n]\n')
    result = invoke(project, "dataset", "import", "arr", str(source), "--skip-invalid")
    assert result.exit_code == 0 and f"{source}:4: row is a JSON str, not an object" in result.output
    assert [i.expected for i in load_dataset(project.root / "datasets/arr.yaml").items] == ["1", "2"]
    bad = tmp_path / "rows.jsonl"
    bad.write_text('{"input": "a"}\n{not json\n')
    result = invoke(project, "dataset", "import", "arr", str(bad))
    assert result.exit_code == 2 and f"{bad}:2: row is not JSON" in result.output
    nocol = tmp_path / "x.csv"
    nocol.write_text("question,answer\nq,a\n")
    result = invoke(project, "dataset", "import", "arr", str(nocol))
    assert result.exit_code == 2 and "choose one with --input-col (columns: question, answer)" in result.output


def test_several_input_columns_make_an_object(project: ProjectDir, tmp_path: Path) -> None:
    source = tmp_path / "rows.tsv"
    source.write_text("city\tdate\texpected\nParis\t2026-01-01\tsunny\n")
    result = invoke(project, "dataset", "import", "w", str(source), "--input-col", "city", "--input-col", "date")
    assert result.exit_code == 0, result.output
    [item] = load_dataset(project.root / "datasets/w.yaml").items
    assert item.input == {"city": "Paris", "date": "2026-01-01"} and item.expected == "sunny"


def test_commit_makes_a_version_of_the_dataset_alone(project: ProjectDir, tmp_path: Path) -> None:
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: x}\n")
    project.git_init()
    project.commit("start")
    project.write("notes.txt", "unrelated")
    git(project.root, "add", "notes.txt")  # staged, must not be swept into the dataset commit
    result = invoke(project, "dataset", "add", "d", "--input", "new question", "--commit")
    assert result.exit_code == 0 and "committed" in result.output
    assert git(project.root, "log", "-1", "--format=%s") == "dataset d: +1 (new-question)"
    assert git(project.root, "show", "--name-only", "--format=", "HEAD") == "datasets/d.yaml"
    assert "notes.txt" in git(project.root, "diff", "--cached", "--name-only")
    source = tmp_path / "t.csv"
    source.write_text("input\nq1\n\nq2\n")
    invoke(project, "dataset", "import", "d", str(source), "--commit")
    assert git(project.root, "log", "-1", "--format=%s") == "dataset d: +2 imported from t.csv"
    (project.root / "datasets/d.yaml").write_text((project.root / "datasets/d.yaml").read_text() + "# local edit\n")
    refused = invoke(project, "dataset", "add", "d", "--input", "q3", "--commit")
    assert refused.exit_code == 2 and "has uncommitted changes" in refused.output
    assert "q3" not in (project.root / "datasets/d.yaml").read_text()


def test_auto_commit_from_gitevals_yaml(project: ProjectDir) -> None:
    project.write("gitevals.yaml", "auto_commit: true\n")
    project.git_init()
    project.commit("start")
    assert invoke(project, "dataset", "new", "fresh").exit_code == 0
    assert git(project.root, "log", "-1", "--format=%s") == "dataset fresh: new"


def test_an_edit_that_would_break_an_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  - id: a\n    input: x\n    context: &ctx {tags: [t]}\n  - id: b\n    input: y\n    context: *ctx\n")
    before = path.read_text()
    with pytest.raises(DataError, match="this edit would leave the file unreadable: found undefined alias") as caught:
        EditableDataset.open(path).remove(["a"])
    assert "write the shared value out in place of the alias" in str(caught.value)
    assert path.read_text() == before
