"""The `gitevals` command. Thin: parse, call the library, render, exit.

Only click is imported at start-up; each command imports what it needs, so
`gitevals --help` stays fast.
"""

from __future__ import annotations

import gc
import os
import sys

import click

from ._common import GitevalsGroup
from .compare import compare
from .dataset import dataset
from .init import init
from .report import report
from .review import review
from .run import run
from .runs import runs
from .schema import schema
from .score import score
from .ui import ui

__all__ = ["cli", "main"]


@click.group(cls=GitevalsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Run as if started in DIR (like git -C).",
)
@click.version_option(package_name="gitevals", prog_name="gitevals")
@click.pass_context
def cli(ctx: click.Context, directory: str | None) -> None:
    """Git-backed evaluations for AI agents and workflows.

    Datasets and evals are YAML files in your repository; every run is
    recorded under runs/ with the commit it was made at.
    """
    if directory is not None:
        os.chdir(directory)  # like git -C: targets see DIR as their working folder too


for command in (init, run, runs, score, compare, review, report, dataset, schema, ui):
    cli.add_command(command)


def main() -> None:
    try:
        cli.main(prog_name="gitevals", standalone_mode=True)
    finally:
        # Everything is written by now, but tearing the interpreter down would
        # still have the collector walk every object the imports made (pydantic's
        # schemas above all): about 40 ms, a third of a run's start-up cost.
        # Frozen, they are skipped. atexit handlers and non-daemon threads still
        # run; only finalizers of cyclic garbage left at exit may not, which
        # Python never promised anyway.
        gc.freeze()
    sys.exit(0)  # pragma: no cover - click exits itself
