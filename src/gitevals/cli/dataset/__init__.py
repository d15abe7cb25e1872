"""`gitevals dataset`: browsing datasets (list, show, history, validate) and editing them
(new, add, remove, import, export)."""

from __future__ import annotations

import click

from . import _browse, _edit


@click.group()
def dataset() -> None:
    """Create, edit, import, check and inspect datasets."""


for command in (_browse.list_, _browse.show, _browse.history, _browse.validate,
                _edit.new, _edit.add, _edit.remove, _edit.import_, _edit.export):
    dataset.add_command(command)

__all__ = ["dataset"]
