"""`gitevals schema`: the JSON Schemas of the file formats."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import EXIT_FAILED


@click.command()
@click.option("--write", "write_dir", type=click.Path(file_okay=False, path_type=Path), help="Write NAME.schema.json files into DIR.")
@click.option("--check", "check_dir", type=click.Path(file_okay=False, path_type=Path), help="Exit 1 if the files in DIR are stale.")
@click.argument("name", required=False)
def schema(write_dir: Path | None, check_dir: Path | None, name: str | None) -> None:
    """Print, write or check the JSON Schemas of the file formats.

    NAME is one of project, dataset, eval, run, result, review (default: all).

    \b
    Examples:
      gitevals schema eval
      gitevals schema --write schemas
      gitevals schema --check schemas
    """
    import json

    from gitevals.formats import generate_schemas, stale_schemas, write_schemas

    if write_dir is not None:
        for path in write_schemas(write_dir):
            click.echo(f"wrote {path}")
        return
    if check_dir is not None:
        stale = stale_schemas(check_dir)
        for path in stale:
            click.echo(f"stale: {path} (regenerate with `gitevals schema --write {check_dir}`)", err=True)
        if stale:
            raise SystemExit(EXIT_FAILED)
        return
    schemas = generate_schemas()
    if name is None:
        click.echo(json.dumps(schemas, indent=2))
    elif name in schemas:
        click.echo(json.dumps(schemas[name], indent=2))
    else:
        raise click.BadParameter(f"choose one of {', '.join(schemas)}", param_hint="NAME")
