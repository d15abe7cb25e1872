"""`gitevals dataset new | add | remove | import | export`: editing datasets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gitevals._util.words import plural

from .._common import EXIT_USAGE, console, err_console, get_project

if TYPE_CHECKING:
    from gitevals.project import Project

COMMIT_HELP = "Commit the dataset file alone as a new version (default: auto_commit in gitevals.yaml)."


def parse_value(text: str) -> Any:
    """JSON when the text is valid JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _read_value(value: str | None, file: Path | None, what: str) -> Any:
    if value is not None and file is not None:
        raise click.UsageError(f"give --{what} or --{what}-file, not both")
    if file is not None:
        return parse_value(file.read_text(encoding="utf-8-sig").rstrip("\n"))
    return None if value is None else parse_value(value)


@contextmanager
def versioned(project: Project, path: Path, commit: bool) -> Iterator[dict[str, str]]:
    """Around an edit: with --commit (or auto_commit), refuse a file that already
    has uncommitted changes, and commit the file alone afterwards with the
    message the edit leaves in the yielded dict (see `authoring.versioned_edit`)."""
    from gitevals.datasets import versioned_edit

    with versioned_edit(project, path, commit) as note:
        yield note
    if note.get("sha"):
        console().print(f"committed {note['sha'][:8]}: {note['message']}", markup=False)


@click.command()
@click.argument("name")
@click.option("--description", help="What the dataset tests.")
@click.option("--input-schema", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSON or YAML file with a JSON Schema every input must satisfy.")
@click.option("--expected-schema", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSON or YAML file with a JSON Schema every expected value must satisfy.")
@click.option("--commit", is_flag=True, help=COMMIT_HELP)
def new(name: str, description: str | None, input_schema: Path | None, expected_schema: Path | None, commit: bool) -> None:
    """Create an empty dataset NAME in datasets/.

    \b
    Example:
      gitevals dataset new support-qa --description "Customer support questions"
    """
    from gitevals._yaml.validation import read_yaml_file
    from gitevals.datasets import create_dataset
    from gitevals.errors import DataError

    project = get_project()
    schemas = {}
    for key, file in (("input_schema", input_schema), ("expected_schema", expected_schema)):
        if file is not None:
            _, schemas[key] = read_yaml_file(file, DataError)
    path, sha = create_dataset(project, name, description=description, commit=commit, **schemas)
    if sha:
        console().print(f"committed {sha[:8]}: dataset {name}: new", markup=False)
    console().print(f"created {project.relative(path)}", markup=False)


@click.command()
@click.argument("name")
@click.option("--input", "input_text", help="The input: JSON when it parses as JSON, else text.")
@click.option("--input-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read the input from a file.")
@click.option("--expected", "expected_text", help="The expected output: JSON when it parses as JSON, else text.")
@click.option("--expected-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the expected output from a file.")
@click.option("--context", "context_text", help="A JSON object of metadata.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--id", "item_id", help="The item's id (default: made from the input).")
@click.option("--commit", is_flag=True, help=COMMIT_HELP)
def add(name: str, input_text: str | None, input_file: Path | None, expected_text: str | None,
        expected_file: Path | None, context_text: str | None, tags: tuple[str, ...], item_id: str | None,
        commit: bool) -> None:
    """Add one item to dataset NAME.

    The file's comments and layout stay as they are; the new item's id is
    made from its input unless --id gives one.

    \b
    Examples:
      gitevals dataset add support-qa --input "How long do refunds take?" --expected "5-7 days" --tag billing
      gitevals dataset add support-qa --input '{"question": "...", "locale": "de"}'
    """
    from gitevals.datasets import EditableDataset

    value = _read_value(input_text, input_file, "input")
    if value is None:
        raise click.UsageError("give the item's --input (or --input-file)")
    expected = _read_value(expected_text, expected_file, "expected")
    context = parse_value(context_text) if context_text else None
    if context is not None and not isinstance(context, dict):
        raise click.BadParameter("must be a JSON object, like '{\"tags\": [\"billing\"]}'", param_hint="--context")
    project = get_project()
    path = project.dataset_path(name)
    with versioned(project, path, commit) as note:
        editor = EditableDataset.open(path, name)
        new_id = editor.add(value, expected, id=item_id, context=context, tags=tags)
        editor.save()
        note["message"] = f"dataset {name}: +1 ({new_id})"
    console().print(f"added {new_id} to {project.relative(path)}", markup=False)


@click.command()
@click.argument("name")
@click.argument("ids", nargs=-1, required=True)
@click.option("--commit", is_flag=True, help=COMMIT_HELP)
def remove(name: str, ids: tuple[str, ...], commit: bool) -> None:
    """Remove items by id from dataset NAME.

    Their ids are retired: never given to a new item.

    \b
    Example:
      gitevals dataset remove support-qa refund-window
    """
    from gitevals.datasets import EditableDataset

    project = get_project()
    path = project.dataset_path(name)
    with versioned(project, path, commit) as note:
        editor = EditableDataset.open(path, name)
        removed = editor.remove(ids)
        editor.save()
        note["message"] = f"dataset {name}: -{len(removed)} ({', '.join(removed[:5])}{', ...' if len(removed) > 5 else ''})"
    console().print(f"removed {', '.join(removed)} from {project.relative(path)}", markup=False)


@click.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "tsv", "jsonl", "json"]), help="Default: from the file name.")
@click.option("--input-col", "input_cols", multiple=True, help="Input column (default `input`); several make an object.")
@click.option("--expected-col", help="Expected column (default: expected, expected_output or ground_truth).")
@click.option("--id-col", help="Id column (default `id`; else ids are made from the input).")
@click.option("--context-col", "context_cols", multiple=True, help="A column to keep in the item's context (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Tag every imported item (repeatable).")
@click.option("--on-conflict", type=click.Choice(["error", "skip", "update"]), default="error", show_default=True,
              help="What to do with an id the dataset already has.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and list the invalid ones.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--commit", is_flag=True, help=COMMIT_HELP)
def import_(name: str, file: Path, fmt: str | None, input_cols: tuple[str, ...], expected_col: str | None,
            id_col: str | None, context_cols: tuple[str, ...], tags: tuple[str, ...], on_conflict: str,
            skip_invalid: bool, dry_run: bool, commit: bool) -> None:
    """Import a CSV, TSV, JSONL or JSON file into dataset NAME.

    Creates the dataset if needed. Every invalid row is reported with its line number; nothing is written
    when one is invalid, unless --skip-invalid.

    \b
    Examples:
      gitevals dataset import support-qa tickets.csv --input-col question --expected-col answer
      gitevals dataset import support-qa more.jsonl --on-conflict update --dry-run
    """
    from gitevals._util.locks import locked
    from gitevals.datasets import ColumnMap, EditableDataset, apply_import, dataset_file, plan_import
    from gitevals.errors import NotFoundError

    project = get_project()
    try:
        path = project.dataset_path(name)
    except NotFoundError:  # a new dataset
        path = dataset_file(project, name)
    out, err = console(), err_console()
    with locked(path):  # from reading the dataset to committing the import: a second writer waits
        editor = EditableDataset.open(path, name) if path.exists() else EditableDataset.create(path)
        plan = plan_import(editor, file, ColumnMap(input_cols, expected_col, id_col, context_cols, tags), fmt=fmt,
                           on_conflict=on_conflict)
        for problem in plan.problems:
            err.print(str(problem), markup=False, highlight=False)
        summary = plan.summary()
        if plan.problems and not skip_invalid:
            err.print(f"nothing imported: {summary}; fix the rows above, or import the rest with --skip-invalid",
                      markup=False)
            raise SystemExit(EXIT_USAGE)
        if dry_run:
            out.print(f"dry run, nothing written: {summary}", markup=False)
            return
        with versioned(project, path, commit) as note:
            apply_import(editor, plan)
            editor.save()
            note["message"] = plan.commit_message(name, file.name)
    out.print(f"imported into {project.relative(path)}: {summary}", markup=False)


@click.command()
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), required=True, help="The file format to write.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (default: stdout).")
def export(name: str, fmt: str, output: Path | None) -> None:
    """Write dataset NAME as CSV or JSONL.

    `dataset import` reads the file back into the same items. In CSV, values
    that are not text are written as JSON.

    \b
    Example:
      gitevals dataset export support-qa --format csv -o support.csv
    """
    from gitevals.datasets import export_text, load_dataset

    project = get_project()
    data = load_dataset(project.dataset_path(name), name)
    text = export_text(data, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console().print(f"wrote {plural(len(data.items), 'item')} to {output}", markup=False)
