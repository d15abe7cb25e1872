"""`gitevals init [DIR]`."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import console


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(directory: Path) -> None:
    """Create a gitevals project in DIRECTORY (default: here).

    Writes gitevals.yaml, an example dataset, eval and target, and the JSON
    Schemas editors use to check the files; runs `git init` when DIRECTORY is
    not in a git repository yet.

    \b
    Example:
      gitevals init my-evals && cd my-evals && git add -A && git commit -m "first evals"
      gitevals run example
    """
    from gitevals.project import init_project

    result = init_project(directory)
    out = console()
    for path in result.created:
        out.print(f"[green]created[/] {path.relative_to(result.root)}")
    for path in result.skipped:
        out.print(f"[yellow]kept[/] {path.relative_to(result.root)} (already there)")
    if result.git_initialized:
        out.print("initialized a git repository")
    where = "" if directory == Path(".") else f" -C {directory}"
    out.print(f"\nnext: gitevals{where} run example")
