"""Authoring datasets in the web UI: creating a dataset, editing an item in
place, importing a CSV or JSONL file (upload, preview with row errors, confirm)
and a dataset's history. Every route through Starlette's TestClient on real
temporary git repositories, and one journey in a real Chromium."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from gitevals.cli import cli
from gitevals.datasets import load_dataset
from tests.conftest import ProjectDir, git
from tests.ui.test_ui import CHROMIUM, ORIGIN, XSS, chromium_page, post, rows, serving

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

HAND_WRITTEN = """
# Hand-written support questions: keep this comment
description: Support questions
items:
  # the refund policy changed in March
  - id: refund-window
    input: How long do I have to ask for a refund?
    expected: "30"  # a string that reads as a number
    context: {tags: [billing], channel: email}
  - id: late-order
    input: {question: Where is my order, order: A1001}
    expected: delayed
    expected_trajectory:
      steps: [{type: tool_call, name: lookup_order, args: {order_id: A1001}}]
      max_steps: 3
  # keep this one last
  - id: opening-hours
    input: What are your hours?
"""

BAD_ROW_CSV = "id,input,expected,topic\nship-1,Do you ship abroad?,yes,shipping\nbad id,Broken row,no,misc\n" \
              "ship-2,\"Two\nlines\",maybe,shipping\n"


@pytest.fixture
def support(project: ProjectDir) -> ProjectDir:
    project.write("datasets/support.yaml", HAND_WRITTEN)
    project.git_init()
    project.commit("initial")
    return project


def dataset_text(project: ProjectDir, name: str = "support") -> str:
    return (project.root / f"datasets/{name}.yaml").read_text()


def upload(client: TestClient, filename: str, content: bytes | str, fmt: str = "", name: str = "support",
           **headers: str) -> httpx.Response:
    body = content.encode() if isinstance(content, str) else content
    return client.post(f"/datasets/{name}/import", files={"file": (filename, body, "text/plain")},
                       data={"format": fmt}, headers={"Origin": ORIGIN, **headers}, follow_redirects=False)


def uploads_left(client: TestClient) -> list[str]:
    folder = getattr(client.app.state, "uploads", None)  # type: ignore[attr-defined]
    return sorted(p.name for p in folder.iterdir()) if folder else []


def section(html: str, start: str, end: str | None = None) -> str:
    """The part of a page from the first `start` (to `end` when given)."""
    found = html[html.index(start):]
    return found[:found.index(end)] if end else found


def text_of(html: str) -> str:
    """What a piece of a page reads as: no tags, single spaces."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def edit_form(client: TestClient, url: str) -> dict[str, str]:
    """The edit form's fields as the page fills them (the first newline of a textarea is the parser's)."""
    page = client.get(url).text
    form = section(page, '<section id="edit">', '<section id="remove">')
    fields = {name: value.removeprefix("\n") for name, value in
              re.findall(r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>', form, re.DOTALL)}
    fields.update(re.findall(r'<input name="(\w+)" value="([^"]*)"', form))
    return {key: value.replace("&#34;", '"').replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">")
            .replace("&amp;", "&") for key, value in fields.items()}


# --- creating a dataset -----------------------------------------------------------


def test_create_a_dataset_from_the_datasets_page(support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    listing = client.get("/datasets")
    assert '<form method="post" action="/datasets#new-dataset"' in listing.text  # an error scrolls into view
    created = post(client, "/datasets", {"name": "faq", "description": "Frequent questions"})
    assert created.status_code == 303 and created.headers["location"] == "/datasets/faq?created=1"
    assert dataset_text(support, "faq") == ("# yaml-language-server: $schema=../schemas/dataset.schema.json\n"
                                           "description: Frequent questions\nitems: []\n")
    assert (support.root / "schemas/dataset.schema.json").is_file()
    page = client.get(created.headers["location"])
    assert "Created <code>datasets/faq.yaml</code>" in page.text and "Frequent questions" in page.text
    assert rows(client.get("/datasets").text, "data-dataset") == ["faq", "support"]
    assert git(support.root, "log", "--format=%s") == "initial"  # nothing committed without the checkbox
    committed = post(client, "/datasets", {"name": "smoke_tests.v2", "description": "", "commit": "on"})
    sha = git(support.root, "rev-parse", "HEAD")
    assert committed.headers["location"] == f"/datasets/smoke_tests.v2?created=1&committed={sha[:8]}"
    assert git(support.root, "log", "-1", "--format=%s") == "dataset smoke_tests.v2: new"
    assert git(support.root, "show", "--name-only", "--format=", "HEAD") == "datasets/smoke_tests.v2.yaml"
    assert "description" not in dataset_text(support, "smoke_tests.v2")  # an empty description is none


@pytest.mark.parametrize(("name", "message"), [
    ("../outside", "&#39;../outside&#39; is not a good dataset name"),
    ("a/b", "&#39;a/b&#39; is not a good dataset name"),
    ("", "&#39;&#39; is not a good dataset name"),
    ("support", "there is already a dataset named &#39;support&#39; in datasets/"),
    ("legacy", "there is already a dataset named &#39;legacy&#39;"),  # legacy.yml: a name is the stem
    (XSS, "&#39;" + ESCAPED + "&#39; is not a good dataset name"),
])
def test_a_bad_dataset_name_shows_the_form_again_with_what_was_typed(
        support: ProjectDir, client_for: Any, name: str, message: str) -> None:
    support.write("datasets/legacy.yml", "items: []\n")
    before = sorted(p.name for p in support.root.rglob("*") if ".git" not in p.parts)
    refused = post(client_for(support), "/datasets", {"name": name, "description": "Keep <this> text"})
    assert refused.status_code == 400 and message in refused.text
    assert 'name="description" value="Keep &lt;this&gt; text"' in refused.text
    assert XSS not in refused.text
    assert sorted(p.name for p in support.root.rglob("*") if ".git" not in p.parts) == before
    assert not (support.root.parent / "outside.yaml").exists()


def test_creating_with_commit_outside_git_writes_nothing(project: ProjectDir, client_for: Any) -> None:
    refused = post(client_for(project), "/datasets", {"name": "faq", "commit": "on"})
    assert refused.status_code == 400 and "committing an edit needs a git repository" in refused.text
    assert 'name="name" value="faq"' in refused.text and 'name="commit" checked' in refused.text
    assert sorted(p.name for p in project.root.iterdir()) == ["gitevals.yaml"]


def test_the_cli_and_the_ui_refuse_the_same_names(support: ProjectDir) -> None:
    result = CliRunner().invoke(cli, ["-C", str(support.root), "dataset", "new", "support"])
    assert result.exit_code == 2 and "there is already a dataset named 'support' in datasets/" in result.output
    result = CliRunner().invoke(cli, ["-C", str(support.root), "dataset", "new", "../x"])
    assert result.exit_code == 2 and "'../x' is not a good dataset name" in result.output


# --- editing an item --------------------------------------------------------------


def test_the_edit_form_shows_values_that_save_back_unchanged(support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    fields = edit_form(client, "/datasets/support/items/refund-window")
    # "30" is a string: shown quoted, or saving the form would make it a number
    assert fields == {"input": "How long do I have to ask for a refund?", "expected": '"30"',
                      "context": '{\n  "channel": "email"\n}', "tags": "billing", "expected_trajectory": ""}
    before = dataset_text(support)
    fields["context"] = fields["context"].replace("\n", "\r\n")  # as a browser sends a textarea
    same = post(client, "/datasets/support/items/refund-window/edit", fields)
    assert same.status_code == 303 and same.headers["location"] == "/datasets/support/items/refund-window?edited=0"
    assert dataset_text(support) == before
    assert "Nothing changed" in client.get(same.headers["location"]).text


def test_editing_an_item_rewrites_it_alone_and_keeps_comments(support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    fields = edit_form(client, "/datasets/support/items/refund-window")
    fields.update(expected="30 days", tags="billing, policy", context='{"channel": "chat"}')
    saved = post(client, "/datasets/support/items/refund-window/edit", fields)
    assert saved.headers["location"] == "/datasets/support/items/refund-window?edited=1"
    text = dataset_text(support)
    assert text.startswith("# Hand-written support questions: keep this comment\n")
    assert "  # the refund policy changed in March\n  - id: refund-window\n" in text
    assert "  # keep this one last\n  - id: opening-hours\n" in text
    assert "    input: {question: Where is my order, order: A1001}\n" in text  # another item, untouched
    [item] = [i for i in load_dataset(support.root / "datasets/support.yaml").items if i.id == "refund-window"]
    assert item.expected == "30 days" and item.context == {"channel": "chat", "tags": ["billing", "policy"]}
    assert item.input == "How long do I have to ask for a refund?"
    page = client.get(saved.headers["location"])
    assert "Saved refund-window in <code>datasets/support.yaml</code>" in page.text
    # an emptied field removes the value; JSON makes a number
    fields = edit_form(client, "/datasets/support/items/refund-window")
    fields.update(expected="", tags="", context="", input="42")
    post(client, "/datasets/support/items/refund-window/edit", fields)
    assert "    input: 42\n" in dataset_text(support)
    [item] = [i for i in load_dataset(support.root / "datasets/support.yaml").items if i.id == "refund-window"]
    assert (item.input, item.expected, dict(item.context)) == (42, None, {})
    assert git(support.root, "log", "--format=%s") == "initial"


def test_editing_with_commit_commits_the_dataset_file_alone(support: ProjectDir, client_for: Any) -> None:
    support.write("notes.txt", "unrelated\n")
    client = client_for(support)
    fields = edit_form(client, "/datasets/support/items/opening-hours")
    saved = post(client, "/datasets/support/items/opening-hours/edit",
                 {**fields, "expected": "9 to 5", "commit": "on"})
    sha = git(support.root, "rev-parse", "HEAD")
    assert saved.headers["location"] == f"/datasets/support/items/opening-hours?edited=1&committed={sha[:8]}"
    assert git(support.root, "log", "-1", "--format=%s") == "dataset support: ~1 (opening-hours)"
    assert git(support.root, "status", "--porcelain") == "?? notes.txt"
    assert f"committed {sha[:8]}" in client.get(saved.headers["location"]).text


def test_editing_the_expected_trajectory(support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    fields = edit_form(client, "/datasets/support/items/late-order")
    trajectory = fields["expected_trajectory"]
    assert '"max_steps": 3' in trajectory and '"name": "lookup_order"' in trajectory
    fields["expected_trajectory"] = fields["expected_trajectory"].replace('"max_steps": 3', '"max_steps": 5')
    assert post(client, "/datasets/support/items/late-order/edit", fields).status_code == 303
    [item] = [i for i in load_dataset(support.root / "datasets/support.yaml").items if i.id == "late-order"]
    assert item.expected_trajectory is not None and item.expected_trajectory["max_steps"] == 5
    assert item.expected_trajectory["steps"][0]["args"] == {"order_id": "A1001"}
    assert item.input == {"question": "Where is my order", "order": "A1001"}


@pytest.mark.parametrize(("change", "message"), [
    ({"context": '{"channel": '}, "context must be a JSON object, like {&#34;channel&#34;: &#34;email&#34;}"),
    ({"context": "[1, 2]"}, "context must be a JSON object"),
    ({"context": '{"tags": "billing"}'}, "tags in the context must be a list"),
    ({"input": "   "}, "give the item&#39;s input"),
    ({"expected_trajectory": '{"steps": '}, "the expected trajectory must be a JSON object"),
    ({"expected_trajectory": '{"steps": "not a list"}'}, "item refund-window: expected_trajectory.steps"),
    ({"expected_trajectory": "[1, 2]"}, "the expected trajectory must be a JSON object"),
])
def test_a_bad_edit_shows_the_error_with_the_form_kept_and_writes_nothing(
        support: ProjectDir, client_for: Any, change: dict[str, str], message: str) -> None:
    client = client_for(support)
    before = dataset_text(support)
    fields = {**edit_form(client, "/datasets/support/items/refund-window"), **change, "commit": "on"}
    refused = post(client, "/datasets/support/items/refund-window/edit", fields)
    assert refused.status_code == 400 and message in refused.text, refused.text
    kept = section(refused.text, '<section id="edit">', '<section id="remove">')
    for value in change.values():
        assert (value.strip().replace('"', "&#34;") + "</textarea>") in kept
    assert 'name="commit" checked' in kept
    assert dataset_text(support) == before and git(support.root, "log", "--format=%s") == "initial"


def test_edits_that_cannot_be_made_are_refused(support: ProjectDir, client_for: Any) -> None:
    support.write("datasets/typed.yaml", "input_schema: {type: string, maxLength: 10}\n"
                  "items:\n  - {id: a, input: short}\n")
    client = client_for(support)
    schema = post(client, "/datasets/typed/items/a/edit", {**edit_form(client, "/datasets/typed/items/a"),
                                                            "input": "far too long for the schema"})
    assert schema.status_code == 400 and "input breaks input_schema" in schema.text
    assert "far too long for the schema</textarea>" in schema.text
    missing = post(client, "/datasets/support/items/nope/edit", {"input": "x"})
    assert missing.status_code == 404 and "no item &#39;nope&#39;" in missing.text
    assert post(client, "/datasets/nope/items/a/edit", {"input": "x"}).status_code == 404
    # committing a file that already has uncommitted changes would mix them into the version
    path = support.root / "datasets/support.yaml"
    path.write_text(path.read_text() + "# a note\n")
    dirty = post(client, "/datasets/support/items/opening-hours/edit",
                 {**edit_form(client, "/datasets/support/items/opening-hours"), "expected": "9-5", "commit": "on"})
    assert dirty.status_code == 400 and "has uncommitted changes" in dirty.text
    assert "expected: 9-5" not in path.read_text()


# --- importing a file -------------------------------------------------------------


def test_import_a_csv_preview_shows_rows_mapping_and_row_errors_before_writing(
        support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    before = dataset_text(support)
    uploaded = upload(client, "tickets.csv", BAD_ROW_CSV)
    assert uploaded.status_code == 303
    preview_url = uploaded.headers["location"]
    assert re.fullmatch(r"/datasets/support/import/[A-Za-z0-9_-]{24}", preview_url)
    page = client.get(preview_url)
    assert page.status_code == 200 and "<h1>Import tickets.csv into support</h1>" in page.text
    assert re.findall(r'<tr data-line="(\d+)"', page.text) == ["2", "3", "4"]  # the row of two lines starts on 4
    assert '<tr data-line="3" class="errored">' in page.text
    # the columns with the usual names are chosen, as the CLI does
    assert 'name="input_col" value="input" checked' in page.text and 'name="input_col" value="id" >' in page.text
    assert '<option value="expected" selected>' in page.text and '<option value="id" selected>' in page.text
    summary = section(page.text, '<p id="summary">', "</p>")
    assert text_of(summary) == "3 rows: 2 to add, 0 to update, 0 already there, 1 invalid row."
    problems = section(page.text, '<ul id="problems">', "</ul>")
    assert '<li data-line="3"><a href="#preview">line 3</a>: id &#39;bad id&#39; has characters outside' in problems
    assert dataset_text(support) == before  # a preview writes nothing
    refused = post(client, preview_url, {"mapped": "1", "input_col": "input", "expected_col": "expected",
                                         "id_col": "id", "on_conflict": "error"})
    assert refused.status_code == 400 and "nothing imported: 2 to add, 0 to update" in refused.text
    assert "skip the invalid rows" in refused.text and dataset_text(support) == before
    done = post(client, preview_url, {"mapped": "1", "input_col": "input", "expected_col": "expected", "id_col": "id",
                                      "on_conflict": "error", "skip_invalid": "on"})
    assert done.status_code == 303 and done.headers["location"] == "/datasets/support?imported=2&updated=0&skipped=1"
    text = dataset_text(support)
    assert text.startswith(before)  # appended: every comment and value as it was
    items = {i.id: i for i in load_dataset(support.root / "datasets/support.yaml").items}
    assert items["ship-1"].expected == "yes" and items["ship-2"].input == "Two\nlines" and "bad id" not in items
    assert "Imported 2 items, updated 0, skipped 1 invalid row." in client.get(done.headers["location"]).text
    assert uploads_left(client) == []  # the upload is gone once imported
    gone = client.get(preview_url)
    assert gone.status_code == 404 and "this upload is gone" in gone.text
    assert git(support.root, "log", "--format=%s") == "initial"


def test_import_with_commit_and_conflicting_ids(support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    jsonl = '{"id": "opening-hours", "input": "When do you open?", "answer": "9"}\n{"id": "new-one", "input": "Hi"}\n'
    preview_url = upload(client, "rows.jsonl", jsonl).headers["location"]
    page = client.get(preview_url)
    assert "id &#39;opening-hours&#39; is already in the dataset" in page.text
    assert '<option value="answer" selected>' in page.text  # `answer` is one of the usual expected names
    updating = client.get(preview_url, params={"mapped": "1", "input_col": "input", "expected_col": "answer",
                                               "id_col": "id", "on_conflict": "update"})
    assert text_of(section(updating.text, '<p id="summary">', "</p>")).startswith("2 rows: 1 to add, 1 to update")
    confirm = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">',
                         section(updating.text, '<form method="post" action="' + preview_url))
    assert ("on_conflict", "update") in confirm and ("expected_col", "answer") in confirm
    done = post(client, preview_url, {**dict(confirm), "commit": "on"})
    sha = git(support.root, "rev-parse", "HEAD")
    assert done.headers["location"] == f"/datasets/support?imported=1&updated=1&skipped=0&committed={sha[:8]}"
    assert git(support.root, "log", "-1", "--format=%s") == "dataset support: +1 imported from rows.jsonl, ~1 updated"
    items = {i.id: i for i in load_dataset(support.root / "datasets/support.yaml").items}
    assert (items["opening-hours"].input, items["opening-hours"].expected) == ("When do you open?", "9")
    assert items["new-one"].input == "Hi" and "  # keep this one last\n" in dataset_text(support)


def test_the_column_mapping_form_chooses_columns(support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    csv = "question,answer,topic,expected\nHow do refunds work?,ask us,billing,x\nWhere is it?,on its way,orders,y\n"
    preview_url = upload(client, "faq.csv", csv).headers["location"]
    first = client.get(preview_url)
    # no column is named `input`: the mapping must be chosen before anything can be imported
    assert "no input column: none is named `input`" in first.text and 'id="confirm"' not in first.text
    assert "--input-col" not in first.text and "/tmp" not in first.text  # no CLI hint, no temporary path
    chosen = client.get(preview_url, params=[("mapped", "1"), ("input_col", "question"), ("expected_col", "answer"),
                                             ("context_col", "topic"), ("tags", "faq, imported"),
                                             ("on_conflict", "error")])
    assert 'id="confirm"' in chosen.text and 'name="input_col" value="question" checked' in chosen.text
    assert 'name="context_col" value="topic" checked' in chosen.text and 'value="faq, imported"' in chosen.text
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">',
                           section(chosen.text, 'id="confirm"')))
    assert post(client, preview_url, {**form, "context_col": "topic", "input_col": "question"}).status_code == 303
    items = {i.id: i for i in load_dataset(support.root / "datasets/support.yaml").items}
    refunds = items["how-do-refunds-work"]
    assert refunds.expected == "ask us" and refunds.context == {"topic": "billing", "tags": ["faq", "imported"]}
    # with a mapping, a column left out stays out even when it has a usual name (`expected` here)
    preview_url = upload(client, "more.csv", "input,expected\nq1,a1\n").headers["location"]
    bare = client.get(preview_url, params={"mapped": "1", "input_col": "input", "expected_col": ""})
    assert '<option value="expected" >' in bare.text
    assert post(client, preview_url, {"mapped": "1", "input_col": "input", "expected_col": ""}).status_code == 303
    assert load_dataset(support.root / "datasets/support.yaml").items[-1].expected is None


@pytest.mark.parametrize("params", [
    {"mapped": "1", "input_col": "nope"},
    {"mapped": "1", "input_col": "input", "expected_col": "nope"},
    {"mapped": "1", "input_col": "input", "context_col": "nope"},
])
def test_a_mapping_naming_a_missing_column_is_refused(support: ProjectDir, client_for: Any,
                                                      params: dict[str, str]) -> None:
    client = client_for(support)
    before = dataset_text(support)
    preview_url = upload(client, "rows.csv", "input,expected\nq,a\n").headers["location"]
    page = client.get(preview_url, params=params)
    assert page.status_code == 200 and "rows.csv: no column named &#39;nope&#39; in the file" in page.text
    assert 'id="confirm"' not in page.text
    refused = post(client, preview_url, {**params, "skip_invalid": "on"})
    assert refused.status_code == 400 and "nothing imported: fix the column mapping" in refused.text
    assert dataset_text(support) == before


@pytest.mark.parametrize(("filename", "content", "fmt", "message"), [
    ("notes.txt", "input\nq\n", "", "cannot tell the format of &#39;notes.txt&#39; from its name"),
    ("rows.csv", "", "", "rows.csv is empty"),
    ("rows.csv", b"input\ncaf\xe9\n", "", "rows.csv: not UTF-8 text (invalid continuation byte at byte 9)"),
    ("rows.json", '{"input": "not an array"}', "", "rows.json:1: a JSON import file must hold an array of objects"),
    ("rows.csv", "input,input\nq,q\n", "", "rows.csv:1: the header names a column twice: input"),
    ("rows.csv", "input\nq\n", "xlsx", "unknown format &#39;xlsx&#39;"),
])
def test_an_upload_that_cannot_be_read_is_refused_on_the_dataset_page(
        support: ProjectDir, client_for: Any, filename: str, content: str | bytes, fmt: str, message: str) -> None:
    client = client_for(support)
    before = dataset_text(support)
    refused = upload(client, filename, content, fmt)
    assert refused.status_code == 400 and message in refused.text, refused.text
    assert '<div class="error" role="alert" id="import-error">' in refused.text and "<h1>support</h1>" in refused.text
    assert "/tmp" not in refused.text and uploads_left(client) == []  # nothing kept, no temporary path shown
    assert dataset_text(support) == before


def test_an_upload_with_a_chosen_format_or_without_a_file(support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    chosen = upload(client, "notes.txt", '{"input": "a"}\n{"input": "b"}\n', "jsonl")
    assert chosen.status_code == 303 and "JSONL · 2 rows" in client.get(chosen.headers["location"]).text
    kept = upload(client, "notes.txt", "", "tsv")
    assert '<option value="tsv" selected>tsv</option>' in kept.text  # the choice is kept after an error
    no_file = client.post("/datasets/support/import", data={"format": ""}, headers={"Origin": ORIGIN},
                          files={"other": ("x", b"", "text/plain")})
    assert no_file.status_code == 400 and "choose a file to import" in no_file.text
    assert upload(client, "rows.csv", "input\nq\n", name="nope").status_code == 404


def test_an_upload_larger_than_the_limit_is_refused(support: ProjectDir, client_for: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from gitevals.ui import dataset_import

    monkeypatch.setattr(dataset_import, "MAX_BYTES", 1 << 20)
    client = client_for(support)
    assert upload(client, "rows.csv", "input\n" + "q\n" * 500_000).status_code == 303  # just under 1 MB
    refused = upload(client, "rows.csv", "input\n" + "q\n" * 530_000)  # over it, by less than the slack
    assert refused.status_code == 400 and "the file is larger than 1 MB" in refused.text
    assert len(uploads_left(client)) == 1  # the refused one is not kept
    huge = upload(client, "rows.csv", "input\n" + "q\n" * 600_000)  # its Content-Length says so: never read
    assert huge.status_code == 413 and "the file is larger than 1 MB" in huge.text


def test_jsonl_rows_that_are_not_objects_are_reported_by_line(support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    preview_url = upload(client, "rows.jsonl", '{"input": "fine"}\n\n{not json\n["a list"]\n').headers["location"]
    page = client.get(preview_url)
    problems = section(page.text, '<ul id="problems">', "</ul>")
    assert re.findall(r'<li data-line="(\d+)">', problems) == ["3", "4"]
    assert "row is not JSON" in problems and "row is a JSON list, not an object" in problems


def test_uploads_are_named_only_by_a_token_and_expire(support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    preview_url = upload(client, "rows.csv", "input\nq\n").headers["location"]
    token = preview_url.rsplit("/", 1)[1]
    assert uploads_left(client) == [token]
    for url in ("/datasets/support/import/..%2F..%2Fetc%2Fpasswd", "/datasets/support/import/meta.json",
                f"/datasets/support/import/{token[:-1]}", f"/datasets/support/import/{'A' * 24}",
                f"/datasets/other/import/{token}", f"/datasets/support.yaml/import/{token}"):
        assert client.get(url).status_code == 404, url
        assert post(client, url, {"mapped": "1", "input_col": "input"}).status_code == 404, url
    assert client.get(preview_url).status_code == 200
    # an upload left for more than an hour is gone, and the next upload clears it away
    folder = client.app.state.uploads / token  # type: ignore[attr-defined]
    old = time.time() - 2 * 3600
    os.utime(folder, (old, old))
    assert client.get(preview_url).status_code == 404
    upload(client, "rows.csv", "input\nq\n")
    assert token not in uploads_left(client) and len(uploads_left(client)) == 1


def test_a_name_from_a_url_is_never_a_path(support: ProjectDir, client_for: Any) -> None:
    support.write("gitevals.yaml", "defaults: {concurrency: 4}\n")
    client = client_for(support)
    for url in ("/datasets/gitevals.yaml", "/datasets/gitevals.yaml/history",
                "/datasets/..%2Fgitevals.yaml/history"):
        assert client.get(url).status_code == 404, url
    assert upload(client, "rows.csv", "input\nq\n", name="gitevals.yaml").status_code == 404
    assert post(client, "/datasets/gitevals.yaml/items", {"input": "x"}).status_code == 404
    assert (support.root / "gitevals.yaml").read_text() == "defaults: {concurrency: 4}\n"


# --- history ----------------------------------------------------------------------


def test_history_lists_item_changes_per_commit_like_the_cli(support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    assert 'href="/datasets/support/history"' in client.get("/datasets/support").text
    post(client, "/datasets/support/items", {"input": "Is there a warranty?", "id": "warranty", "commit": "on"})
    fields = edit_form(client, "/datasets/support/items/opening-hours")
    post(client, "/datasets/support/items/opening-hours/edit", {**fields, "expected": "9 to 5", "commit": "on"})
    post(client, "/datasets/support/items/refund-window/remove", {"commit": "on"})
    page = client.get("/datasets/support/history")
    assert page.status_code == 200
    shas = git(support.root, "log", "--format=%H").splitlines()
    assert rows(page.text, "data-commit") == shas  # newest first
    row = {sha: section(page.text, f'<tr data-commit="{sha}">', "</tr>") for sha in shas}
    removed, edited, added, initial = (row[sha] for sha in shas)
    assert "+0 ~0 -1" in removed and '<div class="ids" data-sign="-"><span class="sign">-</span>\n<span>refund-window' \
        in removed  # a removed item is not linked: it has no page any more
    assert "+0 ~1 -0" in edited and 'href="/datasets/support/items/opening-hours">opening-hours</a>' in edited
    assert "+1 ~0 -0" in added and "dataset support: +1 (warranty)" in added
    assert "+3 ~0 -0" in initial and "<span>refund-window</span>" in initial and ">late-order</a>" in initial
    cli_out = CliRunner().invoke(cli, ["-C", str(support.root), "dataset", "history", "support"]).output
    cli_counts = dict(re.findall(r"^(\w{8}) \S+ .*?  ([+]\d+ ~\d+ -\d+)  ", cli_out, re.MULTILINE))
    ui_counts = {sha[:8]: re.findall(r'<span class="counts">([^<]+)</span>', row[sha])[0] for sha in shas}
    assert ui_counts == cli_counts
    assert 'id="pending"' not in page.text
    # uncommitted changes are shown apart, item by item
    post(client, "/datasets/support/items", {"input": "Not yet committed", "id": "draft"})
    pending = section(client.get("/datasets/support/history").text, '<section id="pending">', "</section>")
    assert "+1 ~0 -0" in pending and ">draft</a>" in pending


def test_history_outside_git_and_of_an_uncommitted_dataset(project: ProjectDir, client_for: Any) -> None:
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: x}\n")
    client = client_for(project)
    outside = client.get("/datasets/d/history")
    assert outside.status_code == 200 and "Not in a git repository" in outside.text
    project.git_init()
    page = client_for(project).get("/datasets/d/history")
    assert "No commit changes <code>datasets/d.yaml</code> yet." in page.text
    assert "+1 ~0 -0" in section(page.text, '<section id="pending">', "</section>")
    project.write("datasets/d.yaml", "items: [\n")
    broken = client_for(project).get("/datasets/d/history")
    assert broken.status_code == 200 and "not a valid dataset" in broken.text
    assert client.get("/datasets/nope/history").status_code == 404


# --- security ---------------------------------------------------------------------


def test_every_value_is_escaped_on_the_new_pages(support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    post(client, "/datasets", {"name": "xss", "description": XSS})
    post(client, "/datasets/support/items", {"input": XSS, "expected": XSS, "id": "xss",
                                             "context": '{"n": "' + XSS + '"}', "commit": "on"})
    csv = f'input,"{XSS}"\n"{XSS}",x\n'
    preview_url = upload(client, f"{XSS}.csv", csv).headers["location"]
    pages = {url: client.get(url) for url in ("/datasets", "/datasets/xss", "/datasets/support/items/xss",
                                              "/datasets/support/history", preview_url)}
    for url, page in pages.items():
        assert page.status_code == 200, url
        assert XSS not in page.text and "alert(1)</script>" not in page.text, url
        assert ESCAPED in page.text or url.endswith("/history"), url  # commit subjects hold no model text
    assert ESCAPED + "</textarea>" in section(pages["/datasets/support/items/xss"].text, '<section id="edit">')
    assert f"<th>{ESCAPED}</th>" in pages[preview_url].text


def test_changes_from_other_origins_are_refused_on_the_new_routes(support: ProjectDir, client_for: Any) -> None:
    client = client_for(support)
    preview_url = upload(client, "rows.csv", "input\nq\n").headers["location"]
    before = dataset_text(support)
    foreign = {"Origin": "http://evil.example"}
    assert post(client, "/datasets", {"name": "evil"}, **foreign).status_code == 403
    assert post(client, "/datasets/support/items/opening-hours/edit", {"input": "evil"}, **foreign).status_code == 403
    assert upload(client, "rows.csv", "input\nq\n", **foreign).status_code == 403
    assert post(client, preview_url, {"mapped": "1", "input_col": "input"}, **foreign).status_code == 403
    assert dataset_text(support) == before and not (support.root / "datasets/evil.yaml").exists()
    assert len(uploads_left(client)) == 1


# --- in a real browser ------------------------------------------------------------


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                    "(apt-get install chromium; .ci/run installs it)")
def test_in_a_real_browser_create_add_and_import_with_a_bad_row(support: ProjectDir, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    source = tmp_path / "tickets.csv"
    source.write_text(BAD_ROW_CSV)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with serving(support) as url, chromium_page(viewport={"width": 1280, "height": 900}) as (page, errors):

        def shot(name: str) -> None:
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        page.goto(url + "/datasets")
        shot("1-datasets")
        page.locator("#new-dataset input[name=name]").fill("faq")
        page.locator("#new-dataset input[name=description]").fill("Frequent questions")
        page.get_by_role("button", name="Create dataset").click()
        expect(page.locator("h1")).to_have_text("faq")
        expect(page.locator("#notice")).to_contain_text("Created datasets/faq.yaml")
        shot("2-new-dataset")
        page.locator("textarea[name=input]").fill("How long is the refund window?")
        page.locator("textarea[name=expected]").fill("30 days")
        page.get_by_role("button", name="Add item").click()
        expect(page.locator("#notice")).to_contain_text("Added how-long-is-the-refund-window")
        shot("3-item")
        page.get_by_role("link", name="faq", exact=True).click()
        page.locator("input[name=file]").set_input_files(str(source))
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("h1")).to_have_text("Import tickets.csv into faq")
        expect(page.locator("#problems li")).to_have_count(1)
        expect(page.locator('#problems li[data-line="3"]')).to_contain_text("line 3: id 'bad id' has characters")
        expect(page.locator('#preview tr[data-line="3"]')).to_have_class("errored")
        shot("4-import-preview")
        page.get_by_role("button", name="Import into faq").click()
        expect(page.locator("#import-error")).to_contain_text("nothing imported")
        # the form comes back with status 400, which Chromium logs; that one is expected
        assert errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
        errors.clear()
        shot("5-import-refused")
        page.get_by_label("skip the invalid rows").check()
        page.get_by_role("button", name="Import into faq").click()
        expect(page.locator("#notice")).to_contain_text("Imported 2 items, updated 0, skipped 1 invalid row")
        expect(page.locator("#items tr[data-item]")).to_have_count(3)
        shot("6-imported")
        page.locator("#history-link").click()
        expect(page.locator("#pending")).to_contain_text("+3 ~0 -0")
        shot("7-history")
        assert errors == []
    assert sorted(p.name for p in shots.iterdir()) == ["1-datasets.png", "2-new-dataset.png", "3-item.png",
                                                       "4-import-preview.png", "5-import-refused.png",
                                                       "6-imported.png", "7-history.png"]
    assert all(p.stat().st_size > 5000 for p in shots.iterdir())
    items = {i.id: i for i in load_dataset(support.root / "datasets/faq.yaml").items}
    assert sorted(items) == ["how-long-is-the-refund-window", "ship-1", "ship-2"]
    assert items["ship-2"].input == "Two\nlines"  # the upload's bytes as they were, not re-posted by the browser
