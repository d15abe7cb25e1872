"""Progress while a run goes: a rich bar on a terminal, a few plain lines elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gitevals._util.words import plural

if TYPE_CHECKING:
    from rich.console import Console

    from gitevals.engine import ItemResult


class Tally:
    """Counts of passed, failed and errored item x trial pairs."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = self.passed = self.failed = self.errors = self.to_review = 0

    def add(self, result: ItemResult) -> None:
        self.done += 1
        if result.error is not None:
            self.errors += 1
        elif not result.scores:
            self.to_review += 1  # no scorers: a person judges it (`gitevals review`)
        elif result.passed:
            self.passed += 1
        else:
            self.failed += 1

    def text(self) -> str:
        review = f", {self.to_review} to review" if self.to_review else ""
        return f"{self.passed} passed, {self.failed} failed, {plural(self.errors, 'error')}{review}"


class PlainProgress:
    """One line at every tenth of the run, for logs that are read later.

    Plain `echo` rather than rich, so that a run in CI starts without loading it.
    """

    def __init__(self, echo: Callable[[str], Any], total: int) -> None:
        self.echo = echo
        self.tally = Tally(total)
        self._next_tenth = 1

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def set_total(self, total: int) -> None:
        self.tally.total = total

    def update(self, result: ItemResult) -> None:
        tally = self.tally
        tally.add(result)
        if tally.done * 10 >= self._next_tenth * tally.total or tally.done == tally.total:
            while self._next_tenth * tally.total <= tally.done * 10:
                self._next_tenth += 1
            width = len(str(tally.total))
            self.echo(f"  [{tally.done:>{width}}/{tally.total}] {tally.text()}")


class RichProgress:
    """A live bar with counts, elapsed time and an estimate of what is left."""

    def __init__(self, console: Console, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.tally = Tally(total)
        self._progress = Progress(
            TextColumn("[bold]running"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("run", total=total, counts="")
        self._console = console

    def echo(self, text: str) -> None:
        self._console.print(text, markup=False)

    def set_total(self, total: int) -> None:
        self.tally.total = total
        self._progress.update(self._task, total=total)

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()

    def update(self, result: ItemResult) -> None:
        self.tally.add(result)
        counts = (
            f"[green]{self.tally.passed} passed[/] [red]{self.tally.failed} failed[/] "
            f"[yellow]{plural(self.tally.errors, 'error')}[/]"
        )
        self._progress.update(self._task, advance=1, counts=counts)
