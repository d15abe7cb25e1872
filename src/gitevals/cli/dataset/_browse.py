"""`gitevals dataset list | show | history | validate`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import click

from gitevals._util.words import plural

from .._common import EXIT_USAGE, console, err_console, get_project, is_interactive


@click.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """List datasets with their item counts and tags."""
    from rich.markup import escape
    from rich.table import Table

    from gitevals.datasets import load_dataset
    from gitevals.errors import GitevalsError

    project = get_project()
    names = project.dataset_names()
    out = console()
    if not names:
        out.print(f"no datasets in {project.relative(project.datasets_dir)}/")
        return
    table = Table(show_edge=False, header_style="bold")
    for column in ("dataset", "items", "tags", "description"):
        table.add_column(column)
    for name in names:
        try:
            data = load_dataset(project.dataset_path(name), name)
        except GitevalsError as exc:
            table.add_row(escape(name), "[red]invalid[/]", "", f"{plural(len(exc.problems), 'problem')} (gitevals dataset validate {name})")
            continue
        table.add_row(escape(name), str(len(data.items)), escape(", ".join(data.all_tags())), escape(data.description or ""))
    out.print(table)


@click.command()
@click.argument("name")
@click.option("--tag", "tags", multiple=True, help="Only items with this tag (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the items as JSON lines with their hashes.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Show the first N items only.")
@click.pass_context
def show(ctx: click.Context, name: str, tags: tuple[str, ...], as_json: bool, limit: int | None) -> None:
    """Show the items of dataset NAME.

    On a terminal a long list opens in a pager, as git's does; piped, lines
    are written as they are made, so `| head` returns at once.

    \b
    Examples:
      gitevals dataset show support-qa --tag billing
      gitevals dataset show support-qa --json --limit 20
    """
    from gitevals.datasets import load_dataset

    project = get_project()
    data = load_dataset(project.dataset_path(name), name).with_tags(tags)
    items = data.items if limit is None else data.items[:limit]
    lines = _json_lines(items) if as_json else _table_lines(data, items)
    try:
        if is_interactive():
            click.echo_via_pager(lines)
        else:
            for line in lines:
                click.echo(line, nl=False)
    except BrokenPipeError:  # `| head` has read all it wants
        sys.stdout = None  # type: ignore[assignment] # nothing more to flush at exit
        return


_ROWS_A_CHUNK = 200


def _json_lines(items: Any) -> Iterator[str]:
    import json

    for item in items:
        yield json.dumps(item.to_dict(), ensure_ascii=False) + "\n"


def _table_lines(data: Any, items: Any) -> Iterator[str]:
    """The items as a table, rendered a chunk of rows at a time with the same
    column widths, so the first lines come before the last item is formatted."""
    from rich.markup import escape
    from rich.table import Table

    from gitevals.report.text import short

    out = console()
    width = out.width
    header = f"[bold]{escape(data.name)}[/]: {plural(len(data.items), 'item')}"
    if data.description:
        header += f" — {escape(data.description)}"
    if len(items) < len(data.items):
        header += f" (the first {len(items)})"
    with out.capture() as captured:
        out.print(header)
    yield captured.get()
    widths = {"id": max(8, width // 6), "input": max(20, width * 2 // 5), "expected": max(12, width // 4)}
    for start in range(0, max(len(items), 1), _ROWS_A_CHUNK):
        table = Table(show_edge=False, header_style="bold", show_header=start == 0, width=width)
        for column in ("id", "input", "expected", "tags"):
            table.add_column(column, overflow="fold", width=widths.get(column), no_wrap=False)
        for item in items[start:start + _ROWS_A_CHUNK]:
            expected = "" if item.expected is None else short(item.expected, 40)
            table.add_row(escape(item.id), escape(short(item.input, 60)), escape(expected), escape(", ".join(item.tags)))
        with out.capture() as captured:
            out.print(table)
        yield captured.get()


@click.command()
@click.argument("name")
@click.option("--ids/--no-ids", default=True, help="List the ids of the items each commit changed.")
@click.pass_context
def history(ctx: click.Context, name: str, ids: bool) -> None:
    """List the commits that changed dataset NAME.

    Newest first, each with the ids of the items it added (+), changed (~)
    and removed (-).
    """
    from rich.markup import escape

    from gitevals.datasets import DatasetHistory
    from gitevals.errors import NotFoundError
    from gitevals.git import open_repo

    project = get_project()
    path = project.dataset_path(name)
    repo = open_repo(project.root)
    if repo is None:
        raise NotFoundError("dataset history needs a git repository", hint="run `git init` and commit your datasets")
    try:
        relative = repo.relative(path)
        versions = DatasetHistory(repo).versions(relative, name) if relative and repo.head() else []
    finally:
        repo.close()
    out = console()
    if not versions:
        out.print(f"{name}: no commits touch {project.relative(path)} yet")
        return
    for version in versions:
        c = version.commit
        changes = version.changes
        counts = changes.counts() if changes else f"[red]{escape(version.error or 'deleted')}[/]"
        out.print(f"[bold]{c.short}[/] {c.date[:10]} {escape(c.author)}  {counts}  {escape(c.subject)}")
        if ids and changes:
            for sign, found in (("+", changes.added), ("~", changes.changed), ("-", changes.removed)):
                if found:
                    shown = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
                    out.print(f"    {sign} {escape(shown)}")


@click.command()
@click.argument("name", required=False)
@click.option("--fix", is_flag=True, help="Give items without an id a new one, in place.")
@click.option("--commit", is_flag=True, help="With --fix: commit each fixed file alone.")
@click.pass_context
def validate(ctx: click.Context, name: str | None, fix: bool, commit: bool) -> None:
    """Check dataset NAME, or every dataset, for problems.

    Checks ids, keys and the JSON Schemas; prints every problem with its
    file:line:column and exits 2 if there is one.

    \b
    Examples:
      gitevals dataset validate
      gitevals dataset validate support-qa --fix --commit
    """
    from gitevals.datasets import EditableDataset, load_dataset
    from gitevals.errors import GitevalsError

    from ._edit import versioned

    project = get_project()
    names = [name] if name else project.dataset_names()
    out, err = console(), err_console()
    failed = 0
    for each in names:
        if fix:
            path = project.dataset_path(each)
            try:
                with versioned(project, path, commit) as note:
                    editor = EditableDataset.open(path, each)
                    assigned = editor.fix_ids()
                    if assigned:
                        editor.save()
                        note["message"] = f"dataset {each}: ids for {plural(len(assigned), 'item')}"
                        out.print(f"{each}: new ids {', '.join(assigned)}", markup=False)
            except GitevalsError as exc:
                failed += 1
                err.print(str(exc), highlight=False, markup=False)
                continue
        try:
            data = load_dataset(project.dataset_path(each), each)
        except GitevalsError as exc:
            failed += 1
            err.print(str(exc), highlight=False, markup=False)
            continue
        empty = " [yellow](a run refuses a dataset without items: add some)[/]" if not data.items else ""
        out.print(f"[green]ok[/] {each}: {plural(len(data.items), 'item')}{empty}")
    if not names:
        out.print(f"no datasets in {project.relative(project.datasets_dir)}/")
    if failed:
        ctx.exit(EXIT_USAGE)
