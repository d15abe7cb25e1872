"""What every command shares: the project, the consoles, and turning errors into exit codes."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

    from gitevals.project import Project

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class GitevalsGroup(click.Group):
    """A click group that turns user errors (and files the system refuses to
    write) into one message and exit code 2, Ctrl-C into 130, and suggests near
    names for unknown commands."""

    def invoke(self, ctx: click.Context) -> Any:
        from gitevals.errors import GitevalsError

        try:
            return super().invoke(ctx)
        except GitevalsError as exc:
            err_console().print(f"[bold red]error:[/] {_escape(str(exc))}", highlight=False)
            ctx.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            err_console().print("[yellow]interrupted[/]")
            ctx.exit(EXIT_INTERRUPTED)
        except OSError as exc:  # the system refused a read or a write the library did not expect to fail
            if exc.filename is None:
                raise
            from gitevals._util.fs import write_error

            err_console().print(f"[bold red]error:[/] {_escape(str(write_error(exc.filename, exc, 'the system refused it')))}",
                                highlight=False)
            ctx.exit(EXIT_USAGE)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            name = args[0] if args else ""
            from gitevals.errors import did_you_mean

            hint = did_you_mean(name, self.list_commands(ctx)) if name else None
            if hint and "No such command" in str(exc):
                raise click.UsageError(f"{exc.message} ({hint})", ctx) from None
            raise


RUN_FORMS = (
    "RUN is a run id or a unique start or end of one (the random end, like 1a2b3c4, is enough), "
    "a run folder, an eval name (its newest run) or EVAL~N, `latest` or `latest~N` (N runs before the newest), "
    "or EVAL@REF (the eval's newest run made at a git ref); `gitevals runs list` lists them."
)


class RunRef(click.ParamType):
    """A RUN argument: missing, it says what a RUN can be, not only that it is missing."""

    name = "run"

    def get_missing_message(self, param: click.Parameter, ctx: click.Context | None) -> str:
        return RUN_FORMS

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return value


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def get_project() -> Project:
    """The project of the working folder (which `-C DIR` has already changed)."""
    from gitevals.project import find_project

    return find_project()


def is_interactive() -> bool:
    """Rich progress and colour on a terminal; plain lines in CI and pipes."""
    return sys.stdout.isatty() and not os.environ.get("CI")


def console() -> Console:
    from rich.console import Console

    if is_interactive():
        return Console(highlight=False)
    # Logs and pipes: wide enough that tables are not folded into two lines.
    return Console(highlight=False, width=200, soft_wrap=True)


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)
